import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/local/free-port.ts";
import { startPostgres } from "../../scripts/local/postgres.ts";
import { applySchema, schemaFingerprint } from "../../shared/db/apply-schema.ts";
import { schemaStatements } from "../../shared/db/schema.ts";

// shared/db/apply-schema.ts on a real Postgres serving writes. The chaos suite's CI run failed when
// Postgres came back from a crash under load: the stack re-applied the whole schema in one transaction,
// its ALTER TABLE / CREATE INDEX locks met the origins' writers in the other order, and Postgres answered
// "deadlock detected" to the restart. Each case below holds a writer's transaction open the way an
// origin does (an event's interactions row, then its video's counters).

const dir = mkdtempSync(join(tmpdir(), "fyp-apply-schema-"));
let pgs: Awaited<ReturnType<typeof startPostgres>>;
const open: pg.Client[] = [];

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: pgs.url("fyp_us") });
  await c.connect();
  open.push(c);
  return c;
}

/** A writer mid-transaction: an event's row is inserted, the transaction stays open. */
async function writerHoldingInteractions(key: string): Promise<pg.Client> {
  const w = await client();
  await w.query("BEGIN");
  await w.query(`INSERT INTO interactions (user_id, video_id, type, ts, idempotency_key, region) VALUES (1, 7, 'view', now(), $1, 'us')`, [key]);
  return w;
}

/** Resolves once some backend of this database waits on a heavyweight lock (the migration is queued). */
async function untilSomeoneWaitsOnALock(c: pg.Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'fyp_us' AND wait_event_type = 'Lock'`);
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("no backend ever waited on a lock");
}

beforeAll(async () => {
  pgs = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort() });
  const c = await client();
  await c.query(`INSERT INTO videos (video_id, author_id, caption, duration_ms, topic, embedding, upload_region) VALUES (7, 9, 'x', 1000, 0, array_fill(0::real, ARRAY[8]), 'us')`);
}, 120_000);
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => {})));
});
afterAll(async () => {
  await pgs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("applying the schema to a database that serves writes", () => {
  it("the stack's start stored the schema's fingerprint; applying the same schema again runs nothing", async () => {
    const c = await client();
    const { rows } = await c.query("SELECT fingerprint FROM schema_meta");
    expect(rows).toEqual([{ fingerprint: await schemaFingerprint(schemaStatements()) }]);
    expect(await applySchema(c)).toMatchObject({ applied: false, attempts: 0 });
  });

  it("the same schema (a restart) completes while a writer's transaction is open: it takes no lock the writer holds", async () => {
    const w = await writerHoldingInteractions("restart");
    const c = await client();
    // Before the fingerprint, this waited for the writer (ALTER TABLE interactions: ACCESS EXCLUSIVE).
    let writerDone = false;
    const safety = setTimeout(() => void w.query("COMMIT").then(() => (writerDone = true)), 10_000);
    const res = await applySchema(c);
    clearTimeout(safety);
    expect(writerDone).toBe(false);
    expect(res.applied).toBe(false);
    await w.query("COMMIT");
  });

  it("a changed schema waits out a writer: lock timeout, rollback, backoff, applied on a later try", async () => {
    const w = await writerHoldingInteractions("lock-timeout");
    const c = await client();
    const statements = [...schemaStatements(), "CREATE INDEX IF NOT EXISTS interactions_type ON interactions (type)"];
    setTimeout(() => void w.query("COMMIT"), 1_500);
    const res = await applySchema(c, { statements, lockTimeoutMs: 200, backoffMs: 100 });
    expect(res).toMatchObject({ applied: true, fingerprint: await schemaFingerprint(statements) });
    expect(res.attempts).toBeGreaterThan(1);
    expect((await c.query(`SELECT to_regclass('interactions_type') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
    expect((await c.query("SELECT count(*)::int AS n FROM interactions WHERE idempotency_key = 'lock-timeout'")).rows[0].n).toBe(1);
    // The next start finds the new fingerprint and runs nothing.
    expect(await applySchema(c, { statements })).toMatchObject({ applied: false });
  });

  it("a deadlock with a writer (the chaos failure) is rolled back and applied again; the writer's work commits", async () => {
    const w = await writerHoldingInteractions("deadlock");
    const c = await client();
    const statements = [...schemaStatements(), "SELECT 'deadlock case'"];
    // lock_timeout above deadlock_timeout (1 s): the deadlock detector, not the timeout, ends the wait.
    const applying = applySchema(c, { statements, lockTimeoutMs: 10_000, backoffMs: 100 });
    // The migration holds videos (CREATE INDEX … ON videos: SHARE) and waits for interactions.
    await untilSomeoneWaitsOnALock(await client());
    // The writer now wants videos: a cycle. The migration waited first, so its deadlock check fires first.
    await w.query("UPDATE videos SET views = views + 1 WHERE video_id = 7");
    await w.query("COMMIT");
    const res = await applying;
    expect(res).toMatchObject({ applied: true });
    expect(res.attempts).toBeGreaterThan(1);
    expect((await c.query("SELECT count(*)::int AS n FROM interactions WHERE idempotency_key = 'deadlock'")).rows[0].n).toBe(1);
    expect((await c.query("SELECT views::int FROM videos WHERE video_id = 7")).rows[0].views).toBe(1);
  });

  it("any other error is thrown at once and rolls the whole schema back", async () => {
    const c = await client();
    const before = (await c.query("SELECT fingerprint FROM schema_meta")).rows;
    const statements = [...schemaStatements(), "CREATE TABLE never_made (x int)", "SELECT no_such_column FROM videos"];
    await expect(applySchema(c, { statements })).rejects.toMatchObject({ code: "42703" });
    expect((await c.query(`SELECT to_regclass('never_made') IS NULL AS gone`)).rows[0].gone).toBe(true);
    expect((await c.query("SELECT fingerprint FROM schema_meta")).rows).toEqual(before);
  });
});
