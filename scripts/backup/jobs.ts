// The backup jobs and one scheduler tick: run what is due (scripts/backup/kinds.ts schedules), then apply
// retention. `now` is always passed in (tests use explicit timestamps; the CLI passes Date.now()).
// A failed job is reported and retried on the next tick; it never stops the others.
import { mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConfigVersion } from "../../edge/config-history.ts";
import type { Region } from "../../shared/regions.ts";
import { fetchConfigHistory, type EdgeAdmin } from "./config-backup.ts";
import { CONFIG, SNAPSHOTS, USER_DATA, type SnapshotKind } from "./kinds.ts";
import { beyondCount, expired, isDue, pitrRetention, stamp, walToPrune } from "./schedule.ts";
import { archiveDir, baseBackups, baseDir, configDir, configExports, kindDir, snapshots, walFiles } from "./store.ts";
import { snapshotTables } from "./table-snapshot.ts";
import { baseBackup } from "./wal.ts";

export interface BackupContext {
  /** Backup root (scripts/backup/store.ts layout). */
  root: string;
  regions: readonly Region[];
  /** Connection string of a region's database. */
  regionUrl(region: Region): string;
  /** Connection string for cluster-level work (base backups), e.g. the `postgres` database. */
  adminUrl: string;
  /** The cluster's data directory, where base backups copy from; null where there is none (Neon). */
  dataDir: string | null;
  /** The edge's admin API for config exports; null to skip them. */
  edge: EdgeAdmin | null;
  log(line: string): void;
}

export type Job = { kind: SnapshotKind; region: Region } | { kind: "user-data-base" } | { kind: "config-export" };

/** Writes into `<dir>.tmp` and renames when complete, so a crash never leaves a half backup that counts. */
async function atomicDir<T>(dir: string, f: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const r = await f(tmp);
    renameSync(tmp, dir);
    return r;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export async function runSnapshot(ctx: BackupContext, kind: SnapshotKind, region: Region, now: number): Promise<string> {
  const spec = SNAPSHOTS[kind];
  const dir = join(kindDir(ctx.root, kind, region), stamp(now));
  await atomicDir(dir, (tmp) => snapshotTables(ctx.regionUrl(region), tmp, { kind, region }, spec.tables.map((t) => t.table)));
  return dir;
}

export async function runBaseBackup(ctx: BackupContext, now: number): Promise<string> {
  if (!ctx.dataDir) throw new Error("no local data directory: base backups are the provider's (Neon history retention)");
  const dir = join(baseDir(ctx.root), stamp(now));
  await atomicDir(dir, (tmp) => baseBackup(ctx.adminUrl, ctx.dataDir!, tmp));
  return dir;
}

/** Writes the edge's config history when its newest version is not yet exported; null when unchanged. */
export async function runConfigExport(ctx: BackupContext, now: number): Promise<string | null> {
  if (!ctx.edge) return null;
  const versions = await fetchConfigHistory(ctx.edge);
  const last = configExports(ctx.root).at(-1);
  const lastNewest = last ? (JSON.parse(readFileSync(last.path, "utf8")) as { versions: ConfigVersion[] }).versions[0]?.version : undefined;
  if (!versions.length || versions[0].version === lastNewest) return null;
  mkdirSync(configDir(ctx.root), { recursive: true });
  const file = join(configDir(ctx.root), `${stamp(now)}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify({ exported_at: new Date(now).toISOString(), versions }, null, 2));
  renameSync(`${file}.tmp`, file);
  return file;
}

/** The jobs due at `now` given what exists. */
export function dueJobs(ctx: BackupContext, now: number): Job[] {
  const jobs: Job[] = [];
  for (const kind of Object.keys(SNAPSHOTS) as SnapshotKind[])
    for (const region of ctx.regions) if (isDue(snapshots(ctx.root, kind, region).at(-1)?.at ?? null, SNAPSHOTS[kind].everyMs, now)) jobs.push({ kind, region });
  if (ctx.dataDir && isDue(baseBackups(ctx.root).at(-1)?.at ?? null, USER_DATA.baseEveryMs, now)) jobs.push({ kind: "user-data-base" });
  if (ctx.edge && isDue(configExports(ctx.root).at(-1)?.at ?? null, CONFIG.exportEveryMs, now)) jobs.push({ kind: "config-export" });
  return jobs;
}

/** Deletes what retention allows at `now`; returns the deleted paths. */
export function prune(ctx: BackupContext, now: number): string[] {
  const gone: string[] = [];
  const drop = (path: string) => {
    rmSync(path, { recursive: true, force: true });
    gone.push(path);
  };
  for (const kind of Object.keys(SNAPSHOTS) as SnapshotKind[])
    for (const region of ctx.regions) {
      const all = snapshots(ctx.root, kind, region);
      const old = new Set(expired(all.map((s) => s.at), SNAPSHOTS[kind].keepMs, now));
      for (const s of all) if (old.has(s.at)) drop(s.path);
    }
  const bases = baseBackups(ctx.root);
  const { deleteBases, oldestWal } = pitrRetention(bases.map((b) => ({ at: b.at, startWal: b.startWal })), USER_DATA.keepMs, now);
  for (const b of bases) if (deleteBases.some((d) => d.at === b.at)) drop(b.path);
  for (const name of walToPrune(walFiles(ctx.root).map((w) => w.name), oldestWal)) {
    unlinkSync(join(archiveDir(ctx.root), name));
    gone.push(join(archiveDir(ctx.root), name));
  }
  const exports = configExports(ctx.root);
  const over = new Set(beyondCount(exports.map((e) => e.at), CONFIG.keepVersions));
  for (const e of exports) if (over.has(e.at)) drop(e.path);
  return gone;
}

/** One scheduler tick: run every due job (failures logged, not thrown), then prune. */
export async function tick(ctx: BackupContext, now: number): Promise<{ ran: string[]; failed: string[]; pruned: string[] }> {
  const ran: string[] = [];
  const failed: string[] = [];
  for (const job of dueJobs(ctx, now)) {
    const name = "region" in job ? `${job.kind}/${job.region}` : job.kind;
    try {
      const out = job.kind === "user-data-base" ? await runBaseBackup(ctx, now)
        : job.kind === "config-export" ? await runConfigExport(ctx, now)
        : await runSnapshot(ctx, job.kind, job.region, now);
      ran.push(name);
      ctx.log(`backup ${name}: ${out ?? "unchanged"}`);
    } catch (e) {
      failed.push(name);
      ctx.log(`backup ${name} failed: ${(e as Error).message}`);
    }
  }
  const pruned = prune(ctx, now);
  for (const p of pruned) ctx.log(`retention: removed ${p}`);
  return { ran, failed, pruned };
}
