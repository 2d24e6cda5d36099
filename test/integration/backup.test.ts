import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelRegistry } from "../../gpu-inference/registry.ts";
import { backupDatabase, restoreDatabase } from "../../scripts/backup/pg-backup.ts";
import { dueJobs, runSnapshot, tick, type BackupContext } from "../../scripts/backup/jobs.ts";
import { DAY_MS, HOUR_MS, INTERACTIONS, MODELS, VIDEOS } from "../../scripts/backup/kinds.ts";
import { listBackups } from "../../scripts/backup/list.ts";
import { archiveDir, baseBackups, snapshots, walFiles } from "../../scripts/backup/store.ts";
import { restoreTables } from "../../scripts/backup/table-snapshot.ts";
import { prepareArchiveDir, restoreUserData, startPointInTime, walArchiveSettings } from "../../scripts/backup/wal.ts";
import { freePort } from "../../scripts/local/free-port.ts";
import { startPostgres } from "../../scripts/local/postgres.ts";
import { seedAll } from "../../scripts/seed.ts";

// Backups per data type against a real Postgres with WAL archiving on (the production settings of
// scripts/backup/wal.ts: archive_timeout 60 s): for each kind a backup is taken, the live data damaged,
// and the restore must bring back exactly what the kind promises. Schedules run on explicit timestamps.
let pgs: Awaited<ReturnType<typeof startPostgres>>;
const dir = mkdtempSync(join(tmpdir(), "fyp-backup-"));
chmodSync(dir, 0o755); // Postgres runs as the OS user "postgres" when we are root
const root = join(dir, "backups");
let ctx: BackupContext;

beforeAll(async () => {
  const port = await freePort();
  const archive = prepareArchiveDir(archiveDir(root));
  pgs = await startPostgres({ dataDir: join(dir, "pg"), port, settings: walArchiveSettings(archive) });
  await seedAll({ pgPort: port, users: 200, videos: 1500, interactionsPerUser: 10, seed: 7, log: () => {} });
  ctx = { root, regions: ["us", "eu", "apac"], regionUrl: (r) => pgs.url(`fyp_${r}`), adminUrl: pgs.url("postgres"), dataDir: pgs.dataDir, edge: null, log: () => {} };
}, 180_000);
afterAll(async () => {
  await pgs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sql<T = Record<string, unknown>>(db: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: pgs.url(db) });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}
const count = async (db: string, table: string) => Number((await sql<{ n: string }>(db, `SELECT count(*) AS n FROM ${table}`))[0].n);

describe("backup and restore", () => {
  it("whole region: restores a damaged region database to the backed-up row counts", async () => {
    const tables = ["users", "videos", "follows", "interactions", "ivf_centroids"];
    const counts = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count("fyp_eu", t)])));
    const before = await counts();
    expect(before.users).toBeGreaterThan(0);
    const m = await backupDatabase(pgs.url("fyp_eu"), join(dir, "b1"));
    expect(m.tables).toMatchObject(before);
    await sql("fyp_eu", "DELETE FROM interactions WHERE id % 2 = 0");
    await sql("fyp_eu", "DELETE FROM follows");
    await restoreDatabase(pgs.url("fyp_eu"), join(dir, "b1"));
    expect(await counts()).toEqual(before);
    const r = await sql<{ id: string }>("fyp_eu", "INSERT INTO interactions (user_id, video_id, type, ts, idempotency_key, region) VALUES (1, 1, 'view', now(), 'after-restore-1', 'eu') RETURNING id");
    expect(Number(r[0].id)).toBeGreaterThan(0);
  });

  it("video metadata: deleted rows come back, the region's own uploads are set back, other regions' rows stay", async () => {
    const snap = await runSnapshot(ctx, "videos", "eu", Date.UTC(2026, 10, 25, 10));
    expect(snapshots(root, "videos", "eu").map((s) => s.path)).toEqual([snap]);
    const own = await sql<{ video_id: string; caption: string }>("fyp_eu", "SELECT video_id::text, caption FROM videos WHERE upload_region = 'eu' ORDER BY video_id LIMIT 6");
    const foreign = await sql<{ video_id: string }>("fyp_eu", "SELECT video_id::text FROM videos WHERE upload_region = 'us' ORDER BY video_id LIMIT 1");
    const before = await count("fyp_eu", "videos");
    const ivf = await count("fyp_eu", "ivf_centroids");
    await sql("fyp_eu", "DELETE FROM videos WHERE video_id = ANY($1::bigint[])", [own.slice(0, 5).map((v) => v.video_id)]);
    // An edit (as the newest version, where videos carry a last-writer-wins stamp).
    const stamped = (await sql("fyp_eu", "SELECT 1 FROM information_schema.columns WHERE table_name = 'videos' AND column_name = 'updated_at'")).length > 0;
    await sql("fyp_eu", `UPDATE videos SET caption = 'vandalised'${stamped ? ", updated_at = now()" : ""} WHERE video_id = ANY($1::bigint[])`, [[own[5].video_id, foreign[0].video_id]]);
    await sql("fyp_eu", "DELETE FROM ivf_centroids WHERE list % 2 = 0");

    const rep = await restoreTables(pgs.url("fyp_eu"), snap, VIDEOS.tables, "eu");
    expect(rep.tables.videos.snapshot_rows).toBe(before);
    expect(await count("fyp_eu", "videos")).toBe(before);
    expect(await count("fyp_eu", "ivf_centroids")).toBe(ivf);
    const back = await sql<{ video_id: string; caption: string }>("fyp_eu", "SELECT video_id::text, caption FROM videos WHERE video_id = ANY($1::bigint[]) ORDER BY video_id", [own.map((v) => v.video_id)]);
    expect(back).toEqual(own);
    // A region only sets back what it is authoritative for: the us video's edit is us's to undo.
    expect((await sql<{ caption: string }>("fyp_eu", "SELECT caption FROM videos WHERE video_id = $1", [foreign[0].video_id]))[0].caption).toBe("vandalised");
  });

  it("interaction logs: a restore is a union — lost rows come back, rows written since stay", async () => {
    const snap = await runSnapshot(ctx, "interactions", "us", Date.UTC(2026, 10, 25, 0));
    const before = await count("fyp_us", "interactions");
    await sql("fyp_us", "DELETE FROM interactions WHERE id % 3 = 0");
    await sql("fyp_us", "INSERT INTO interactions (user_id, video_id, type, ts, idempotency_key, region) VALUES (1, 1, 'like', now(), 'after-snapshot-1', 'us')");
    await sql("fyp_us", "INSERT INTO timeline_events (video_id, bucket, ts, event_id, type, user_id, region) VALUES (1, 0, now(), '1:after-snapshot-1', 'like', 1, 'us')");
    await restoreTables(pgs.url("fyp_us"), snap, INTERACTIONS.tables, "us");
    expect(await count("fyp_us", "interactions")).toBe(before + 1);
    expect(await count("fyp_us", "timeline_events")).toBeGreaterThanOrEqual(1);
    const [{ n }] = await sql<{ n: string }>("fyp_us", "SELECT count(*) AS n FROM interactions WHERE idempotency_key = 'after-snapshot-1'");
    expect(Number(n)).toBe(1);
  });

  it("user data: WAL archive + base backup restore a region's users and follows to a point in time", async () => {
    const t0 = Date.UTC(2026, 10, 26);
    expect(dueJobs(ctx, t0).map((j) => j.kind)).toContain("user-data-base");
    await tick(ctx, t0); // the base backup (and the other kinds' first snapshots)
    expect(baseBackups(root)).toHaveLength(1);
    // After the base backup: a new eu user who follows someone — the state to come back to.
    await sql("fyp_eu", "INSERT INTO users (user_id, handle, home_region, embedding) VALUES (999999, 'pitr', 'eu', ARRAY[0]::real[])");
    await sql("fyp_eu", "INSERT INTO follows (follower_id, followee_id) VALUES (999999, 1)");
    const [{ t }] = await sql<{ t: string }>("fyp_eu", "SELECT clock_timestamp()::text AS t");
    const want = { users: await count("fyp_eu", "users"), follows: await count("fyp_eu", "follows") };
    // Then the damage, plus an interaction that must survive the user-data restore.
    await sql("fyp_eu", "DELETE FROM follows");
    await sql("fyp_eu", "DELETE FROM users WHERE user_id IN (SELECT user_id FROM users ORDER BY user_id LIMIT 10)");
    await sql("fyp_eu", "INSERT INTO interactions (user_id, video_id, type, ts, idempotency_key, region) VALUES (1, 1, 'view', now(), 'after-damage-1', 'eu')");
    const interactions = await count("fyp_eu", "interactions");
    // Archive the segment holding the damage (archive_timeout would do it within 60 s).
    const [{ seg }] = await sql<{ seg: string }>("postgres", "SELECT pg_walfile_name(pg_switch_wal()) AS seg");
    for (let i = 0; i < 300 && !walFiles(root).some((w) => w.name === `${seg}.gz`); i++) await new Promise((r) => setTimeout(r, 100));
    expect(walFiles(root).some((w) => w.name === `${seg}.gz`)).toBe(true);

    const side = await startPointInTime({ baseDir: baseBackups(root)[0].path, archiveDir: prepareArchiveDir(archiveDir(root)), target: t, workDir: join(dir, "pitr-work"), port: await freePort() });
    try {
      expect(await restoreUserData(pgs.url("fyp_eu"), side.url("fyp_eu"))).toEqual(want);
    } finally {
      await side.stop();
    }
    expect({ users: await count("fyp_eu", "users"), follows: await count("fyp_eu", "follows") }).toEqual(want);
    expect((await sql("fyp_eu", "SELECT 1 FROM follows WHERE follower_id = 999999"))).toHaveLength(1);
    expect(await count("fyp_eu", "interactions")).toBe(interactions); // other data untouched
  }, 240_000);

  it("models: 30 versions are kept, a kept version is restored only with a matching checksum", async () => {
    const reg = new ModelRegistry(join(dir, "models"));
    const meta = { auc: 0.8, logloss: 0.5, baseline_auc: 0.6, baseline_logloss: 0.6, rows: 10, data_window: { from: null, to: null } };
    for (let i = 0; i < 32; i++) await reg.register(new Uint8Array([1, 2, 3, i]), meta, { now: new Date(Date.UTC(2026, 10, 1) + i * DAY_MS) });
    const kept = await reg.list();
    expect(kept).toHaveLength(MODELS.keepVersions);
    const target = kept[3];
    await reg.load(target.version);
    expect((await reg.rollback(target.version)).version).toBe(target.version);
    expect((await reg.current())?.version).toBe(target.version);
    writeFileSync(join(reg.dir, kept[4].file), new Uint8Array([9]));
    await expect(reg.load(kept[4].version)).rejects.toThrow(/checksum/);
  });

  it("scheduler: due jobs and --list on explicit timestamps (production schedule)", async () => {
    const t0 = Date.UTC(2026, 10, 26); // the user-data test ran a tick here
    expect(dueJobs(ctx, t0 + 30 * 60_000)).toEqual([]);
    const hourLater = dueJobs(ctx, t0 + HOUR_MS).map((j) => ("region" in j ? `${j.kind}/${j.region}` : j.kind));
    expect(hourLater.sort()).toEqual(["videos/apac", "videos/eu", "videos/us"]);
    expect(dueJobs(ctx, t0 + DAY_MS).map((j) => j.kind).filter((k) => k === "interactions")).toHaveLength(3);
    expect(dueJobs(ctx, t0 + 7 * DAY_MS).map((j) => j.kind)).toContain("user-data-base");
    const lines = (await listBackups(ctx, join(dir, "models"), t0 + HOUR_MS)).join("\n");
    expect(lines).toMatch(/videos: every 1\.0 h, kept 90\.0 d/);
    expect(lines).toMatch(/ eu: 2 snapshots/);
    expect(lines).toMatch(/base backups: 20261126T000000Z/);
    expect(lines).toMatch(/restorable to any moment from 2026-11-26T00:00:00Z/);
    expect(lines).toMatch(/models: 30 of 30 versions kept/);
    // The CLI prints the same listing; the edge is not running here, which it says instead of failing.
    const { stdout } = await promisify(execFile)(process.execPath, ["scripts/backup.ts", "backup", "--list", "--dir", root, "--model-dir", join(dir, "models"), "--edge-url", "http://127.0.0.1:9"]);
    expect(stdout).toMatch(/interactions: every 24\.0 h, kept 7\.0 d/);
    expect(stdout).toMatch(/config: edge not reachable/);
  });
});
