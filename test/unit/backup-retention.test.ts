import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dueJobs, prune, type BackupContext } from "../../scripts/backup/jobs.ts";
import { CONFIG, DAY_MS, HOUR_MS, INTERACTIONS, USER_DATA, VIDEOS } from "../../scripts/backup/kinds.ts";
import { beyondCount, expired, isDue, parseStamp, pitrRetention, stamp, walToPrune } from "../../scripts/backup/schedule.ts";
import { archiveDir, baseBackups, configExports, snapshots, walFiles } from "../../scripts/backup/store.ts";

// Retention and schedules of the backup kinds, on explicit timestamps (no sleeping, no clock), with the
// production values: videos hourly/90 d, interactions daily/7 d, user data 30-day PITR window, config 100.
const T = Date.UTC(2026, 10, 25, 12);

describe("backup schedule rules", () => {
  it("stamps round-trip and sort in time order", () => {
    expect(stamp(T)).toBe("20261125T120000Z");
    expect(parseStamp("20261125T120000Z")).toBe(T);
    expect(parseStamp("20261125T120000Z.tmp")).toBeNull();
    expect(parseStamp("notes")).toBeNull();
    expect([stamp(T + DAY_MS), stamp(T), stamp(T + HOUR_MS)].sort()).toEqual([stamp(T), stamp(T + HOUR_MS), stamp(T + DAY_MS)]);
  });

  it("a job is due when it never ran or its newest backup is one period old", () => {
    expect(isDue(null, HOUR_MS, T)).toBe(true);
    expect(isDue(T - HOUR_MS + 1, HOUR_MS, T)).toBe(false);
    expect(isDue(T - HOUR_MS, HOUR_MS, T)).toBe(true);
  });

  it("keeps what is within the retention and always the newest", () => {
    const hourly = Array.from({ length: 24 * 100 }, (_, i) => T - i * HOUR_MS); // 100 days of hourly snapshots
    const gone = expired(hourly, VIDEOS.keepMs, T);
    expect(gone).toHaveLength(24 * 10 - 1); // beyond 90 days: 10 days' worth, minus the one exactly at 90 d
    expect(Math.max(...gone)).toBe(T - 90 * DAY_MS - HOUR_MS);
    expect(expired([T - 30 * DAY_MS], INTERACTIONS.keepMs, T)).toEqual([]); // a stopped scheduler never ages the last copy away
    expect(expired([T - 9 * DAY_MS, T - 8 * DAY_MS, T - 7 * DAY_MS, T], INTERACTIONS.keepMs, T)).toEqual([T - 9 * DAY_MS, T - 8 * DAY_MS]);
    expect(beyondCount([1, 5, 3, 4, 2], 3)).toEqual([2, 1]);
  });

  it("point-in-time window: keeps the base backup anchoring the window start and the WAL after it", () => {
    const week = 7 * DAY_MS;
    const bases = [0, 1, 2, 3, 4, 5].map((i) => ({ at: T - (5 - i) * week, startWal: `00000001000000000000000${i + 1}` }));
    // Window start = T − 30 d: the base at T − 35 d (index 0) is the newest at/before it and anchors it.
    const r = pitrRetention(bases, USER_DATA.keepMs, T);
    expect(r.deleteBases).toEqual([]);
    expect(r.oldestWal).toBe("000000010000000000000001");
    const later = pitrRetention(bases, USER_DATA.keepMs, T + 2 * week); // window start T − 16 d → base at T − 21 d anchors
    expect(later.deleteBases.map((b) => b.at)).toEqual([T - 5 * week, T - 4 * week]);
    expect(later.oldestWal).toBe("000000010000000000000003");
    expect(walToPrune(["000000010000000000000001.gz", "000000010000000000000002.gz", "000000010000000000000003.gz", "00000002.history.gz", "000000010000000000000004.gz"], later.oldestWal))
      .toEqual(["000000010000000000000001.gz", "000000010000000000000002.gz"]);
    expect(pitrRetention([], USER_DATA.keepMs, T)).toEqual({ deleteBases: [], oldestWal: null });
  });
});

describe("backup directory retention (prune) and due jobs", () => {
  const root = mkdtempSync(join(tmpdir(), "fyp-retention-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const ctx: BackupContext = { root, regions: ["eu"], regionUrl: () => "", adminUrl: "", dataDir: "/nonexistent", edge: null, log: () => {} };
  const snapshotAt = (kind: string, at: number) => {
    const d = join(root, kind, "eu", stamp(at));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "manifest.json"), "{}");
  };

  it("removes exactly what each kind's retention allows at a given time", () => {
    for (let d = 0; d <= 95; d += 5) snapshotAt("videos", T - d * DAY_MS);
    for (let d = 0; d <= 10; d++) snapshotAt("interactions", T - d * DAY_MS);
    mkdirSync(join(root, "interactions", "eu", `${stamp(T + HOUR_MS)}`), { recursive: true }); // unfinished: no manifest
    for (const [i, daysAgo] of [40, 33, 26, 19, 12, 5].entries()) {
      const d = join(root, "user-data", "base", stamp(T - daysAgo * DAY_MS));
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "manifest.json"), JSON.stringify({ start_wal: `0000000100000000000000${String(10 + i * 10)}` }));
    }
    mkdirSync(archiveDir(root), { recursive: true });
    for (const seg of ["10", "15", "20", "25", "30", "35", "60"]) writeFileSync(join(archiveDir(root), `0000000100000000000000${seg}.gz`), "x");
    mkdirSync(join(root, "config"), { recursive: true });
    for (let i = 0; i < CONFIG.keepVersions + 5; i++) writeFileSync(join(root, "config", `${stamp(T - i * HOUR_MS)}.json`), "{}");

    const gone = prune(ctx, T);
    expect(snapshots(root, "videos", "eu").map((s) => (T - s.at) / DAY_MS)).toEqual([90, 85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30, 25, 20, 15, 10, 5, 0]);
    expect(snapshots(root, "interactions", "eu").map((s) => (T - s.at) / DAY_MS)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    expect(existsSync(join(root, "interactions", "eu", stamp(T + HOUR_MS)))).toBe(true); // not a backup: left alone
    // 30-day window starts at T − 30 d: the base from 33 days ago anchors it; the one from 40 days goes.
    expect(baseBackups(root).map((b) => (T - b.at) / DAY_MS)).toEqual([33, 26, 19, 12, 5]);
    expect(walFiles(root).map((w) => w.name.slice(22, 24))).toEqual(["20", "25", "30", "35", "60"]);
    expect(configExports(root)).toHaveLength(CONFIG.keepVersions);
    expect(gone.length).toBe(1 + 3 + 1 + 2 + 5);
    expect(prune(ctx, T)).toEqual([]); // idempotent
  });

  it("schedules by the newest backup of each kind", () => {
    const kinds = (now: number) => dueJobs(ctx, now).map((j) => j.kind).sort();
    expect(kinds(T)).toEqual([]);
    expect(kinds(T + HOUR_MS)).toEqual(["videos"]);
    expect(kinds(T + DAY_MS)).toEqual(["interactions", "videos"]);
    expect(kinds(T - 5 * DAY_MS + 7 * DAY_MS)).toEqual(["interactions", "user-data-base", "videos"]);
  });
});
