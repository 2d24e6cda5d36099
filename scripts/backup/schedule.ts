// Pure rules of the backup scheduler: which jobs are due, which backups retention removes. No I/O and
// no clock: callers pass `now` (ms) and what exists, so tests use explicit timestamps instead of sleeping.

/** Sortable UTC stamp of a backup: `20261125T103000Z` (second precision). */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/** Inverse of `stamp`; null for anything else (foreign files in a backup directory are ignored). */
export function parseStamp(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Number.isNaN(ms) ? null : ms;
}

/** A job is due when it never ran or its newest backup is at least `everyMs` old. */
export function isDue(lastMs: number | null, everyMs: number, now: number): boolean {
  return lastMs === null || now - lastMs >= everyMs;
}

/**
 * Retention of time-stamped backups: keep those at most `keepMs` old, and always the newest one (a
 * stopped scheduler must never age the last copy away). Returns the stamps (ms) to delete.
 */
export function expired(times: number[], keepMs: number, now: number): number[] {
  if (times.length === 0) return [];
  const newest = Math.max(...times);
  return times.filter((t) => t !== newest && now - t > keepMs);
}

/** Retention by count (config exports): the newest `keep` survive. Returns the stamps (ms) to delete. */
export function beyondCount(times: number[], keep: number): number[] {
  return [...times].sort((a, b) => b - a).slice(keep);
}

export interface BaseBackup {
  at: number;
  /** First WAL segment the base backup needs (its backup_label's START WAL file). */
  startWal: string;
}

/**
 * Point-in-time retention (user data): every moment of the last `keepMs` must stay recoverable, which
 * needs the newest base backup taken at or before the window start plus all WAL after it. Returns the
 * base backups to delete and the oldest WAL segment still needed (null: keep all WAL).
 */
export function pitrRetention(bases: BaseBackup[], keepMs: number, now: number): { deleteBases: BaseBackup[]; oldestWal: string | null } {
  if (bases.length === 0) return { deleteBases: [], oldestWal: null };
  const sorted = [...bases].sort((a, b) => a.at - b.at);
  const windowStart = now - keepMs;
  // The newest base at or before the window start anchors the window; anything older is not needed.
  let anchor = 0;
  for (let i = 0; i < sorted.length; i++) if (sorted[i].at <= windowStart) anchor = i;
  return { deleteBases: sorted.slice(0, anchor), oldestWal: sorted[anchor].startWal };
}

const WAL_SEGMENT = /^[0-9A-F]{24}$/;

/**
 * WAL segment files before `oldestWal` in WAL position (a name is timeline + log + segment in hex; the
 * last 16 digits are the position). Timeline history files and anything unknown are never pruned.
 */
export function walToPrune(names: string[], oldestWal: string | null): string[] {
  if (oldestWal === null) return [];
  return names.filter((n) => {
    const seg = n.replace(/\.gz$/, "");
    return WAL_SEGMENT.test(seg) && seg.slice(8) < oldestWal.slice(8);
  });
}
