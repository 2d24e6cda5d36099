// User data, continuously: WAL archiving of the local Postgres cluster + base backups, and point-in-time
// restore of one region's users and follows (the `user-data` backup kind, scripts/backup/kinds.ts).
//
//  - Archiving (server settings from `walArchiveSettings`): archive_mode=on; the archiver runs
//    archive_command for every completed 16 MB WAL segment, which gzips it into the archive directory
//    (tmp file + rename, so a half-written segment is never visible; an existing name counts as done,
//    so a re-archive after a crash does not wedge the archiver). archive_timeout=60 s forces a segment
//    switch when there was activity, so at most a minute of commits is not yet archived.
//  - Base backup (`baseBackup`): the documented low-level API (pg_backup_start / copy the data dir /
//    pg_backup_stop, whose label file becomes backup_label) — no pg_basebackup binary is needed, the
//    embedded Postgres ships none. pg_backup_stop waits until the WAL it needs is archived.
//  - Restore (`startPointInTime` + `restoreUserData`): the base backup is copied into a side cluster
//    that replays archived WAL up to the target time and promotes; the region's users and follows are
//    then copied from it into the live database in one transaction (TRUNCATE + COPY: the region's user
//    data becomes exactly what it was at that moment). Everything else in the live database is untouched.
// In production the regions run on Neon, whose history retention is this mechanism as a service (restore
// a branch to a timestamp within the retention window, 30 days); these functions are its local form.
import { chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { placeDataDir, serverUser } from "../local/postgres-user.ts";
import { startPostgres, type LocalPostgres } from "../local/postgres.ts";
import { USER_DATA } from "./kinds.ts";

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`; // shell single-quoting

/**
 * Prepares an archive directory the server's OS user can write (relocated under /var/tmp with a symlink
 * when the requested path is not reachable by user "postgres"); returns the real path.
 */
export function prepareArchiveDir(requested: string, log: (l: string) => void = () => {}): string {
  return placeDataDir(requested, serverUser(), log);
}

/** Server settings that archive every WAL segment into `archiveDir` (a prepared, real path). */
export function walArchiveSettings(archiveDir: string, archiveTimeoutS: number = USER_DATA.archiveTimeoutS): Record<string, string> {
  const dst = `${archiveDir}/%f.gz`;
  return {
    archive_mode: "on",
    archive_command: `test -f ${q(dst)} || (gzip -1 < %p > ${q(`${dst}.tmp`)} && mv ${q(`${dst}.tmp`)} ${q(dst)})`,
    archive_timeout: String(archiveTimeoutS),
  };
}

/** Settings of a side cluster replaying the archive up to `target` (ISO-8601; null: all of it). */
export function recoverySettings(archiveDir: string, target: string | null): Record<string, string> {
  const s: Record<string, string> = {
    restore_command: `gzip -dc ${q(`${archiveDir}/%f.gz`)} > %p`,
    recovery_target_action: "promote",
    archive_mode: "off",
    hot_standby: "off", // no connections until recovery has finished and the cluster is promoted
  };
  if (target) s.recovery_target_time = target;
  return s;
}

// Not copied into a base backup (the documented list): WAL (the archive has it), runtime state.
const SKIP_CONTENTS = new Set(["pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans"]);
const SKIP_FILES = new Set(["postmaster.pid", "postmaster.opts", "pg_internal.init", "backup_label.old"]);

export interface BaseBackupManifest {
  created_at: string;
  /** First WAL segment the backup needs. */
  start_wal: string;
  stop_lsn: string;
  bytes: number;
}

/**
 * Base backup of the cluster at `dataDir` (the server's real data dir) into `<outDir>/data`, through
 * `adminUrl`. Needs archiving on (pg_backup_stop waits for the archive). Rejects on any error, after
 * ending backup mode (the session's end does that).
 */
export async function baseBackup(adminUrl: string, dataDir: string, outDir: string): Promise<BaseBackupManifest> {
  // statement_timeout bounds pg_backup_stop's wait for the archive (a broken archive_command must not hang us).
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000, statement_timeout: 600_000 });
  await c.connect();
  try {
    await c.query("SELECT pg_backup_start($1, true)", [`fyp-edge ${new Date().toISOString()}`]);
    const dest = join(outDir, "data");
    let bytes = 0;
    cpSync(dataDir, dest, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => {
        const rel = relative(dataDir, src);
        const parts = rel.split("/");
        if (SKIP_FILES.has(parts[parts.length - 1]) || parts[parts.length - 1].startsWith("pgsql_tmp")) return false;
        if (parts.length > 1 && SKIP_CONTENTS.has(parts[0])) return false; // keep the directory, not its contents
        const st = statSync(src, { throwIfNoEntry: false });
        if (!st) return false; // vanished while copying (a dropped relation): the WAL replays that
        if (st.isFile()) bytes += st.size;
        return true;
      },
    });
    mkdirSync(join(dest, "pg_wal", "archive_status"), { recursive: true });
    const r = await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>("SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(true)");
    const { lsn, labelfile, spcmapfile } = r.rows[0];
    writeFileSync(join(dest, "backup_label"), labelfile);
    if (spcmapfile) writeFileSync(join(dest, "tablespace_map"), spcmapfile);
    const startWal = /START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)/.exec(labelfile)?.[1];
    if (!startWal) throw new Error(`unexpected backup label: ${labelfile}`);
    const manifest: BaseBackupManifest = { created_at: new Date().toISOString(), start_wal: startWal, stop_lsn: lsn, bytes };
    writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await c.end();
  }
}

export function readBaseManifest(dir: string): BaseBackupManifest {
  return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as BaseBackupManifest;
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}

/**
 * Starts a side cluster from `baseDir` (a base backup) at `workDir`, replaying `archiveDir` (real path) up
 * to `target` (ISO-8601; null: the end of the archive), promoted and answering on `port`. Rejects when
 * recovery fails (e.g. the target lies beyond the archived WAL). The caller stops it.
 */
export async function startPointInTime(o: { baseDir: string; archiveDir: string; target: string | null; workDir: string; port: number; log?: (l: string) => void }): Promise<LocalPostgres> {
  const log = o.log ?? (() => {});
  const user = serverUser();
  const requested = join(o.workDir, "pitr");
  if (existsSync(join(requested, "PG_VERSION"))) throw new Error(`${requested} already holds a cluster`);
  const dataDir = placeDataDir(requested, user, log);
  cpSync(join(o.baseDir, "data"), dataDir, { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(dataDir, "recovery.signal"), "");
  if (user) chownTree(dataDir, user.uid, user.gid);
  return startPostgres({ dataDir: requested, port: o.port, log, settings: recoverySettings(o.archiveDir, o.target), startTimeoutMs: 300_000 });
}

/**
 * Replaces `tables` (default: users, follows) of the live region database `liveUrl` with their content in
 * `sourceUrl` (the same region database in a point-in-time side cluster), in one transaction. Returns the
 * row counts written. Rejects, with nothing changed, on any error.
 */
export async function restoreUserData(liveUrl: string, sourceUrl: string, tables: readonly string[] = USER_DATA.tables): Promise<Record<string, number>> {
  const live = new pg.Client({ connectionString: liveUrl, connectionTimeoutMillis: 10_000, statement_timeout: 600_000 });
  const src = new pg.Client({ connectionString: sourceUrl, connectionTimeoutMillis: 10_000, statement_timeout: 600_000 });
  await live.connect();
  await src.connect();
  const out: Record<string, number> = {};
  try {
    await src.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await live.query("BEGIN");
    await live.query(`TRUNCATE ${tables.join(", ")}`);
    for (const t of tables) {
      const colsOf = async (c: pg.Client) => (await c.query<{ attname: string }>(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", [t])).rows.map((r) => r.attname);
      const have = await colsOf(src);
      const cols = (await colsOf(live)).filter((x) => have.includes(x)).join(", ");
      await pipeline(src.query(copyTo(`COPY (SELECT ${cols} FROM ${t}) TO STDOUT`)), live.query(copyFrom(`COPY ${t} (${cols}) FROM STDIN`)));
      const n = Number((await live.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      const want = Number((await src.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      if (n !== want) throw new Error(`restore of ${t}: ${n} rows written, the point-in-time copy has ${want}`);
      out[t] = n;
    }
    await live.query("COMMIT");
    return out;
  } catch (e) {
    await live.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    await src.end().catch(() => {});
    await live.end().catch(() => {});
  }
}
