// Backups per data type (scripts/backup/kinds.ts has the table; README "Backups" the procedures).
//
//   npm run backup -- --list                                   what exists, per kind
//   npm run backup -- --scheduled [--once]                     the scheduler: due jobs + retention every minute
//   npm run backup -- --kind videos|interactions --region eu   one snapshot now
//   npm run backup -- --kind user-data                         a base backup now (WAL is archived continuously)
//   npm run backup -- --kind config                            export the edge's config history now
//   npm run backup -- --region eu [--out DIR]                  whole-region COPY backup (as before)
//   npm run restore -- --kind videos|interactions --region eu [--from DIR]    (default: the newest snapshot)
//   npm run restore -- --kind user-data --region eu [--at ISO-8601]          (default: the end of the archive)
//   npm run restore -- --kind models --version <v>             make a kept model version current
//   npm run restore -- --kind config --version <n> [--from FILE]
//   npm run restore -- --region eu --from DIR                  whole-region restore (as before)
// Common: --dir ROOT (FYP_BACKUP_DIR, default .local/dev/backups), --pg-port (local Postgres), --pg-data
// (its data dir), --edge-url, --model-dir. DATABASE_URL_US / _EU / _APAC name the region databases (e.g.
// Neon), DATABASE_URL the one of a --region command; ADMIN_TOKEN the edge's admin token.
import { mkdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ConfigVersion } from "../edge/config-history.ts";
import { DEFAULT_MODEL_DIR, ModelRegistry } from "../gpu-inference/registry.ts";
import { localPorts, regionDatabase } from "../shared/local-ports.ts";
import { isRegion, REGION_VALUES as REGIONS, type Region } from "../shared/regions.ts";
import { restoreConfig } from "./backup/config-backup.ts";
import { runBaseBackup, runConfigExport, runSnapshot, tick, type BackupContext } from "./backup/jobs.ts";
import { SNAPSHOTS, type SnapshotKind } from "./backup/kinds.ts";
import { listBackups } from "./backup/list.ts";
import { backupDatabase, restoreDatabase } from "./backup/pg-backup.ts";
import { stamp } from "./backup/schedule.ts";
import { archiveDir, baseBackups, configExports, kindDir, snapshots } from "./backup/store.ts";
import { restoreTables } from "./backup/table-snapshot.ts";
import { restoreUserData, startPointInTime } from "./backup/wal.ts";
import { devSecrets } from "./local/dev-secrets.ts";
import { freePort } from "./local/free-port.ts";

const mode = process.argv[2] === "restore" ? "restore" : "backup";
const { values: o } = parseArgs({
  args: process.argv.slice(3),
  options: {
    list: { type: "boolean" }, scheduled: { type: "boolean" }, once: { type: "boolean" },
    kind: { type: "string" }, region: { type: "string" }, version: { type: "string" }, at: { type: "string" },
    dir: { type: "string" }, out: { type: "string" }, from: { type: "string" },
    "pg-port": { type: "string" }, "pg-data": { type: "string" }, "edge-url": { type: "string" }, "model-dir": { type: "string" },
  },
});

const port = Number(o["pg-port"] ?? localPorts("dev").postgres);
const localUrl = (db: string) => `postgres://postgres:postgres@127.0.0.1:${port}/${db}`;
const regionUrl = (r: Region) =>
  process.env[`DATABASE_URL_${r.toUpperCase()}`] ?? (o.region && process.env.DATABASE_URL ? process.env.DATABASE_URL : localUrl(regionDatabase(r)));
const root = o.dir ?? process.env.FYP_BACKUP_DIR ?? join(".local", "dev", "backups");
const pgData = o["pg-data"] ?? join(".local", "dev", "pg");
const realDataDir = (() => { try { return realpathSync(pgData); } catch { return null; } })();
const ctx: BackupContext = {
  root, regions: REGIONS, regionUrl, adminUrl: localUrl("postgres"), dataDir: realDataDir,
  edge: { baseUrl: o["edge-url"] ?? `http://127.0.0.1:${localPorts("dev").edge}`, token: devSecrets.ADMIN_TOKEN, timeoutMs: 3000 },
  log: (l) => console.log(l),
};
const modelDir = o["model-dir"] ?? process.env.MODEL_DIR ?? DEFAULT_MODEL_DIR;

function region(): Region {
  if (!o.region || !isRegion(o.region)) throw new Error("--region us|eu|apac is required");
  return o.region;
}

async function backup(): Promise<void> {
  if (o.list) return void console.log((await listBackups(ctx, modelDir, Date.now())).join("\n"));
  if (o.scheduled) {
    for (;;) {
      const r = await tick(ctx, Date.now());
      console.log(`scheduler: ran ${r.ran.length} (${r.failed.length} failed), pruned ${r.pruned.length}`);
      if (o.once) return;
      await new Promise((res) => setTimeout(res, 60_000));
    }
  }
  if (o.kind === "videos" || o.kind === "interactions") return void console.log(`snapshot → ${await runSnapshot(ctx, o.kind, region(), Date.now())}`);
  if (o.kind === "user-data") return void console.log(`base backup → ${await runBaseBackup(ctx, Date.now())}`);
  if (o.kind === "config") return void console.log(`config export → ${(await runConfigExport(ctx, Date.now())) ?? "unchanged since the last export"}`);
  if (o.kind) throw new Error(`--kind ${o.kind}: models and config versions are kept by their registries; see --list`);
  const r = region();
  const dir = o.out ?? join(kindDir(root, "full", r), stamp(Date.now()));
  const m = await backupDatabase(regionUrl(r), dir);
  console.log(`backup of ${r} → ${dir}: ${JSON.stringify(m.tables)}`);
}

async function restore(): Promise<void> {
  if (o.kind === "videos" || o.kind === "interactions") {
    const r = region();
    const from = o.from ?? snapshots(root, o.kind as SnapshotKind, r).at(-1)?.path;
    if (!from) throw new Error(`no ${o.kind} snapshot of ${r} in ${root}`);
    const rep = await restoreTables(regionUrl(r), from, SNAPSHOTS[o.kind as SnapshotKind].tables, r);
    return void console.log(`restored ${o.kind} of ${r} from ${from}: ${JSON.stringify(rep.tables)}`);
  }
  if (o.kind === "user-data") {
    const r = region();
    const target = o.at ? new Date(o.at) : null;
    if (target && Number.isNaN(target.getTime())) throw new Error("--at must be an ISO-8601 time");
    const base = baseBackups(root).filter((b) => !target || b.at <= target.getTime()).at(-1);
    if (!base) throw new Error(`no base backup ${target ? `taken before ${o.at}` : ""} in ${root}`);
    const work = join(root, "user-data", `restore-${stamp(Date.now())}`);
    mkdirSync(work, { recursive: true });
    const side = await startPointInTime({ baseDir: base.path, archiveDir: realpathSync(archiveDir(root)), target: target?.toISOString() ?? null, workDir: work, port: await freePort() });
    try {
      const n = await restoreUserData(regionUrl(r), side.url(regionDatabase(r)));
      console.log(`restored user data of ${r} to ${o.at ?? "the end of the archive"} from base ${stamp(base.at)}: ${JSON.stringify(n)}`);
    } finally {
      await side.stop();
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  if (o.kind === "models") {
    if (!o.version) throw new Error("--version is required (see --list)");
    const reg = new ModelRegistry(modelDir);
    await reg.load(o.version); // checksum-verified before it can become current
    const m = await reg.rollback(o.version);
    return void console.log(`current model: ${m.version}`);
  }
  if (o.kind === "config") {
    const file = o.from ?? configExports(root).at(-1)?.path;
    if (!o.version || !file) throw new Error("--version and a config export (--from, or one in the backup dir) are required");
    const target = (JSON.parse(readFileSync(file, "utf8")) as { versions: ConfigVersion[] }).versions.find((v) => v.version === Number(o.version));
    if (!target) throw new Error(`version ${o.version} is not in ${file}`);
    const r = await restoreConfig(ctx.edge!, target);
    return void console.log(`config v${target.version} restored by ${r.how}; live version now v${r.version}`);
  }
  if (!o.from) throw new Error("--from DIR is required");
  const r = region();
  const m = await restoreDatabase(regionUrl(r), o.from);
  console.log(`restored ${r} from ${o.from}: ${JSON.stringify(m.tables)}`);
}

try {
  await (mode === "backup" ? backup() : restore());
} catch (e) {
  console.error(`${mode} failed: ${(e as Error).message}`);
  process.exit(1);
}
