// Layout of the backup directory and what exists in it (read by the scheduler, retention and --list).
//
//   <root>/videos/<region>/<stamp>/          manifest.json + one CSV per table   (hourly, 90 days)
//   <root>/interactions/<region>/<stamp>/    manifest.json + one CSV per table   (daily, 7 days)
//   <root>/user-data/base/<stamp>/           manifest.json + data/ (base backup) (weekly)
//   <root>/user-data/wal/<segment>.gz        archived WAL, written by Postgres   (30-day window)
//   <root>/config/<stamp>.json               exported config history             (100 versions)
//   <root>/full/<region>/<stamp>/            `npm run backup -- --region r` (whole region, kept by hand)
// <stamp> is scripts/backup/schedule.ts `stamp` (UTC, sortable). Anything else in these folders is ignored.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { SnapshotKind } from "./kinds.ts";
import { parseStamp } from "./schedule.ts";

export const kindDir = (root: string, kind: string, region?: string) => (region ? join(root, kind, region) : join(root, kind));
export const archiveDir = (root: string) => join(root, "user-data", "wal");
export const baseDir = (root: string) => join(root, "user-data", "base");
export const configDir = (root: string) => join(root, "config");

export interface Stamped {
  at: number;
  path: string;
}

/** Time-stamped entries (dirs or `<stamp>.json` files) of a folder, oldest first; [] if it is missing. */
export function stampedEntries(dir: string, suffix = ""): Stamped[] {
  if (!existsSync(dir)) return [];
  const out: Stamped[] = [];
  for (const name of readdirSync(dir)) {
    if (suffix && !name.endsWith(suffix)) continue;
    const at = parseStamp(suffix ? name.slice(0, -suffix.length) : name);
    // A snapshot without its manifest is unfinished (crashed mid-copy): not a backup.
    if (at !== null && (suffix || existsSync(join(dir, name, "manifest.json")))) out.push({ at, path: join(dir, name) });
  }
  return out.sort((a, b) => a.at - b.at);
}

export const snapshots = (root: string, kind: SnapshotKind, region: string) => stampedEntries(kindDir(root, kind, region));

export interface BaseEntry extends Stamped {
  startWal: string;
}

export function baseBackups(root: string): BaseEntry[] {
  return stampedEntries(baseDir(root)).map((e) => ({ ...e, startWal: (JSON.parse(readFileSync(join(e.path, "manifest.json"), "utf8")) as { start_wal: string }).start_wal }));
}

export interface WalFile {
  name: string;
  bytes: number;
  mtimeMs: number;
}

/** Archived WAL files (segments and timeline histories), by name. */
export function walFiles(root: string): WalFile[] {
  const dir = archiveDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith(".gz")).sort().map((name) => {
    const st = statSync(join(dir, name));
    return { name, bytes: st.size, mtimeMs: st.mtimeMs };
  });
}

export const configExports = (root: string) => stampedEntries(configDir(root), ".json");

/** Bytes under a path (files only, symlinks not followed). */
export function sizeOf(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) if (!e.isSymbolicLink()) n += sizeOf(join(path, e.name));
  return n;
}
