// `npm run backup -- --list`: what exists per data type, against its schedule and retention — the
// snapshots on disk, the user-data point-in-time window, the model registry's kept versions and the
// edge's config versions (asked over its admin API when the edge answers; the exports on disk always).
import { existsSync } from "node:fs";
import { ModelRegistry } from "../../gpu-inference/registry.ts";
import { fetchConfigHistory } from "./config-backup.ts";
import type { BackupContext } from "./jobs.ts";
import { CONFIG, DAY_MS, HOUR_MS, MODELS, SNAPSHOTS, USER_DATA, type SnapshotKind } from "./kinds.ts";
import { stamp } from "./schedule.ts";
import { baseBackups, configExports, sizeOf, snapshots, walFiles } from "./store.ts";

const age = (ms: number) => (ms < HOUR_MS ? `${Math.round(ms / 60_000)} min` : ms < 2 * DAY_MS ? `${(ms / HOUR_MS).toFixed(1)} h` : `${(ms / DAY_MS).toFixed(1)} d`);
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Lines describing every backup kind at `now`. Never throws for an unreachable edge or missing dirs. */
export async function listBackups(ctx: BackupContext, modelDir: string, now: number): Promise<string[]> {
  const out: string[] = [`backups in ${ctx.root} at ${iso(now)}`];
  for (const kind of Object.keys(SNAPSHOTS) as SnapshotKind[]) {
    const spec = SNAPSHOTS[kind];
    out.push(`${kind}: every ${age(spec.everyMs)}, kept ${age(spec.keepMs)}`);
    for (const region of ctx.regions) {
      const all = snapshots(ctx.root, kind, region);
      if (!all.length) out.push(`  ${region}: none`);
      else out.push(`  ${region}: ${all.length} snapshots, newest ${stamp(all.at(-1)!.at)} (${age(now - all.at(-1)!.at)} ago), oldest ${stamp(all[0].at)}, ${mb(all.reduce((s, e) => s + sizeOf(e.path), 0))}`);
    }
  }
  const bases = baseBackups(ctx.root);
  const wal = walFiles(ctx.root);
  out.push(`user-data: continuous WAL archive (archive_timeout ${USER_DATA.archiveTimeoutS} s) + base backup every ${age(USER_DATA.baseEveryMs)}, window ${age(USER_DATA.keepMs)}`);
  out.push(`  base backups: ${bases.length ? bases.map((b) => stamp(b.at)).join(", ") : "none"}`);
  out.push(`  WAL archive: ${wal.length} files, ${mb(wal.reduce((s, w) => s + w.bytes, 0))}${wal.length ? `, newest ${iso(wal.at(-1)!.mtimeMs)}` : ""}`);
  out.push(bases.length && wal.length
    ? `  restorable to any moment from ${iso(bases[0].at)} to ${iso(Math.max(...wal.map((w) => w.mtimeMs)))}`
    : "  no point-in-time window yet (needs a base backup and archived WAL)");
  const reg = new ModelRegistry(modelDir);
  const m = existsSync(reg.manifestPath) ? await reg.readManifest() : { current: null, versions: [] };
  out.push(`models: ${m.versions.length} of ${MODELS.keepVersions} versions kept in ${reg.dir}, current ${m.current ?? "none"}`);
  for (const v of [...m.versions].reverse().slice(0, 5)) out.push(`  ${v.version === m.current ? "*" : " "} ${v.version}  auc ${v.auc?.toFixed(4) ?? "n/a"}  ${v.created_at}`);
  if (m.versions.length > 5) out.push(`  … ${m.versions.length - 5} older`);
  const exports = configExports(ctx.root);
  let live = "edge not asked";
  if (ctx.edge) {
    try {
      const versions = await fetchConfigHistory(ctx.edge);
      live = `${versions.length} of ${CONFIG.keepVersions} versions kept in KV${versions.length ? `, newest v${versions[0].version} (${versions[0].change})` : ""}`;
    } catch (e) {
      live = `edge not reachable (${(e as Error).message})`;
    }
  }
  out.push(`config: ${live}; ${exports.length} exports on disk${exports.length ? `, newest ${stamp(exports.at(-1)!.at)}` : ""}`);
  return out;
}
