import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { flushCounters } from "../../origin/counter-flush.ts";
import type { Db } from "../../origin/db.ts";
import { eventsRoutes } from "../../origin/events-routes.ts";
import { redisFor } from "../../origin/redis.ts";
import { freePort } from "../../scripts/local/free-port.ts";
import { startPostgres } from "../../scripts/local/postgres.ts";
import { pgSqlClient, type PgSqlClient } from "../../scripts/timeline/pg-sql-client.ts";
import { schemaStatements } from "../../shared/db/schema.ts";
import { newVideoId } from "../../shared/video-id.ts";
import { type LocalRedis, startLocalRedis } from "../support/local-redis.ts";
import { originTestApp, originTestDeps } from "../support/origin-app.ts";

// The origin's events route (origin/events-routes.ts, origin/events-write.ts) on a real Postgres (the
// schema of shared/db/schema.ts) and a real redis-server: a like is a per-(user, video) state, so the
// counters (Redis deltas, then the region's video_counters row after a flush) move only when a user's
// like state flips; an event for a video that does not exist is refused (422) unless it is a fresh
// upload that may still be replicating (425, retried by the queue consumer); nothing of a refused batch
// is written.

const dir = mkdtempSync(join(tmpdir(), "fyp-event-likes-"));
let pgs: Awaited<ReturnType<typeof startPostgres>>;
let sql: PgSqlClient;
let r: LocalRedis;
let db: Db;
const VIDEO = "51671";

beforeAll(async () => {
  pgs = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort() });
  sql = pgSqlClient(pgs.url("fyp_us"));
  db = { query: (q, p, t) => sql.query(q, p, t), probe: async () => {}, end: async () => {} };
  r = await startLocalRedis("event-likes");
  await sql.query(`INSERT INTO users (user_id, handle, home_region, embedding) SELECT u, 'u' || u, 'us', array_fill(0::real, ARRAY[8]) FROM unnest(ARRAY[5, 6, 7]::bigint[]) u`);
  await sql.query(`INSERT INTO videos (video_id, author_id, caption, duration_ms, topic, embedding, upload_region) VALUES ($1, 9, 'x', 1000, 0, array_fill(0::real, ARRAY[8]), 'us')`, [VIDEO]);
}, 120_000);
afterAll(async () => {
  await r?.stop();
  await sql?.end();
  await pgs?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await r.raw.flushall();
  await sql.query("TRUNCATE interactions, video_likes, video_counters, timeline_events");
});

let key = 0;
const ev = (type: string, video = `v${VIDEO}`, tsMs = Date.now()) => ({ type, video_id: video, ts: new Date(tsMs).toISOString(), idempotency_key: `likes-key-${++key}` });

async function post(userId: string, events: object[]): Promise<Response> {
  const app = originTestApp(originTestDeps(db, redisFor(r.cfg)), eventsRoutes);
  const deferred: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => deferred.push(p), passThroughOnException: () => {}, props: {} };
  const res = await app.request("/internal/v1/events", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user_id: userId, home_region: "us", events }),
  }, {}, ctx);
  await Promise.all(deferred);
  return res;
}

/** The region's likes for the video after a flush of the Redis deltas into video_counters. */
async function likes(): Promise<number> {
  await flushCounters(db, redisFor(r.cfg), "us");
  const rows = await sql.query<{ l: string }>("SELECT coalesce(sum(likes_added - likes_removed), 0) AS l FROM video_counters WHERE video_id = $1", [VIDEO]);
  return Number(rows[0].l);
}

/** The video's like/unlike rows in the timelines (what regional trending counts). */
async function timelineLikes(): Promise<Record<string, number>> {
  const rows = await sql.query<{ type: string; n: string }>("SELECT type, count(*) AS n FROM timeline_events WHERE video_id = $1 AND type IN ('like', 'unlike') GROUP BY type", [VIDEO]);
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

describe("likes are one per user per video (origin events route, real Postgres + Redis)", () => {
  it("50 likes by one user in one request: 50 events written, the video +1", async () => {
    const res = await post("u5", Array.from({ length: 50 }, () => ev("like")));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ written: 50, duplicates: 0 });
    expect(await likes()).toBe(1);
    expect(await timelineLikes()).toEqual({ like: 1 }); // trending counts it once too
    // …and 50 more in later requests change nothing.
    expect((await post("u5", Array.from({ length: 50 }, () => ev("like")))).status).toBe(200);
    expect(await likes()).toBe(1);
  });

  it("like, unlike, unlike (separate requests): back to the start, never below", async () => {
    for (const t of ["like", "unlike", "unlike"]) expect((await post("u5", [ev(t)])).status).toBe(200);
    expect(await likes()).toBe(0);
    expect(await timelineLikes()).toEqual({ like: 1, unlike: 1 });
    const c = await sql.query<{ likes_added: string; likes_removed: string }>("SELECT likes_added, likes_removed FROM video_counters WHERE video_id = $1", [VIDEO]);
    expect(c[0]).toMatchObject({ likes_added: "1", likes_removed: "1" });
  });

  it("two users: +2; one batch's like/unlike/like ends liked: +1; views stay additive", async () => {
    expect((await post("u5", [ev("like"), ev("view"), ev("view")])).status).toBe(200);
    expect((await post("u6", [ev("like")])).status).toBe(200);
    const t = Date.now();
    expect((await post("u7", [ev("like", undefined, t), ev("unlike", undefined, t + 1), ev("like", undefined, t + 2)])).status).toBe(200);
    expect(await likes()).toBe(3);
    const v = await sql.query<{ views: string }>("SELECT views FROM video_counters WHERE video_id = $1", [VIDEO]);
    expect(v[0].views).toBe("2");
  });

  it("an unlike older than the stored like (a late batch) does not undo it; a redelivered batch counts nothing", async () => {
    const t = Date.now();
    const like = ev("like", undefined, t);
    expect((await post("u5", [like])).status).toBe(200);
    expect((await post("u5", [ev("unlike", undefined, t - 60_000)])).status).toBe(200);
    expect((await post("u5", [like])).status).toBe(200); // redelivery: a duplicate
    expect(await likes()).toBe(1);
  });

  it("concurrent requests of one user (the queue consumer delivers a batch's messages at once): +1", async () => {
    const res = await Promise.all(Array.from({ length: 10 }, () => post("u5", [ev("like")])));
    expect(res.map((x) => x.status)).toEqual(Array(10).fill(200));
    expect(await likes()).toBe(1);
  });

  it("a database made before video_likes gets the like state of its interactions once (the schema's migration)", async () => {
    const t = Date.now();
    expect((await post("u6", [ev("like", undefined, t)])).status).toBe(200);
    expect((await post("u7", [ev("like", undefined, t), ev("unlike", undefined, t + 1)])).status).toBe(200);
    await sql.query("DROP TABLE video_likes");
    await sql.query(schemaStatements().join(";\n"));
    expect(await sql.query("SELECT user_id, liked FROM video_likes ORDER BY user_id")).toEqual([{ user_id: "6", liked: true }, { user_id: "7", liked: false }]);
    await sql.query(schemaStatements().join(";\n")); // applying it again changes nothing
    expect(await sql.query("SELECT 1 FROM video_likes")).toHaveLength(2);
    // u6's unlike after the migration counts (it was liked before): -1 from the +1.
    expect((await post("u6", [ev("unlike")])).status).toBe(200);
    expect(await likes()).toBe(0);
  });
});

describe("events for videos this region does not hold", () => {
  it("an unknown video: 422 unknown_video naming it, nothing written, no counter", async () => {
    const res = await post("u5", [ev("like", "v888888888888888"), ev("view")]);
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: { code: "unknown_video", field: "events.video_id" } });
    expect(await sql.query("SELECT 1 FROM interactions")).toHaveLength(0);
    expect(await r.raw.keys("ctr:*")).toEqual([]);
    await flushCounters(db, redisFor(r.cfg), "us");
    expect(await sql.query("SELECT 1 FROM video_counters")).toHaveLength(0);
  });

  it("an upload minted in another region seconds ago (not replicated yet): 425 with retry-after, nothing written", async () => {
    const fresh = newVideoId("eu", Date.now() - 2_000);
    const res = await post("u5", [ev("like", `v${fresh}`)]);
    expect(res.status).toBe(425);
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect(await res.json()).toMatchObject({ error: { code: "video_not_replicated" } });
    expect(await sql.query("SELECT 1 FROM interactions")).toHaveLength(0);
    // An upload id minted long ago that never arrived is refused for good.
    const old = newVideoId("eu", Date.now() - 3 * 3600_000);
    expect((await post("u5", [ev("like", `v${old}`)])).status).toBe(422);
  });
});
