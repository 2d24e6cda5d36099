import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupDatabase, restoreDatabase } from "../../scripts/backup/pg-backup.ts";
import { startPostgres } from "../../scripts/local/postgres.ts";
import { seedAll } from "../../scripts/seed.ts";
import { freePort } from "../../scripts/local/free-port.ts";

// Backup → damage → restore of a region database on a real Postgres: row counts must match the backup.
let pgs: Awaited<ReturnType<typeof startPostgres>>;
const dir = mkdtempSync(join(tmpdir(), "fyp-backup-"));
chmodSync(dir, 0o755); // Postgres runs as the OS user "postgres" when we are root

beforeAll(async () => {
  const port = await freePort();
  pgs = await startPostgres({ dataDir: join(dir, "pg"), port });
  await seedAll({ pgPort: port, users: 200, videos: 1500, interactionsPerUser: 10, seed: 7, log: () => {} });
}, 120_000);
afterAll(async () => {
  await pgs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function counts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of ["users", "videos", "follows", "interactions", "ivf_centroids"]) out[t] = Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    return out;
  } finally {
    await c.end();
  }
}

describe("backup and restore", () => {
  it("restores a damaged region database to the backed-up row counts", async () => {
    const url = pgs.url("fyp_eu");
    const before = await counts(url);
    expect(before.users).toBeGreaterThan(0);
    const m = await backupDatabase(url, join(dir, "b1"));
    expect(m.tables).toEqual(before);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("DELETE FROM interactions WHERE id % 2 = 0");
    await c.query("DELETE FROM follows");
    await c.end();
    expect((await counts(url)).follows).toBe(0);
    await restoreDatabase(url, join(dir, "b1"));
    expect(await counts(url)).toEqual(before);
    // The id sequence continues after the restored rows.
    const c2 = new pg.Client({ connectionString: url });
    await c2.connect();
    const r = await c2.query("INSERT INTO interactions (user_id, video_id, type, ts, idempotency_key, region) VALUES (1, 1, 'view', now(), 'after-restore-1', 'eu') RETURNING id");
    expect(Number(r.rows[0].id)).toBeGreaterThan(0);
    await c2.end();
  });
});
