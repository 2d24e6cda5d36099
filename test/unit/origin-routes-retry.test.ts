import type { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { catalogRoutes } from "../../origin/catalog-routes.ts";
import type { AppEnv } from "../../origin/context.ts";
import type { Db } from "../../origin/db.ts";
import { eventsRoutes } from "../../origin/events-routes.ts";
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import { type Answer, pgError, scriptedDb, scriptedRedis } from "../support/failing-deps.ts";
import { originTestApp, originTestDeps, TEST_EXECUTION_CTX as ctx } from "../support/origin-app.ts";

// The origin routes' Postgres call sites with the production rows, through the real Hono routes over a
// Postgres (our Db interface) and a Redis that fail on purpose:
//  - POST /internal/v1/events: the home-region lookup is a read (4 tries, 100 ms each), the insert and
//    the timeline append are writes (4 tries, 5 s each, 100/500/2000 ms ±30% between them); permanent
//    SQLSTATEs are one try and a 422;
//  - GET /internal/v1/videos/:id: the video metadata read (feature store: 3 Redis tries, then 4 Postgres tries).

const LOOKUP = "SELECT home_region FROM users";
const INSERT = "INSERT INTO interactions";
const APPEND = "INSERT INTO timeline_events";

function appWith(db: Db, redis = scriptedRedis()): Hono<AppEnv> {
  return originTestApp(originTestDeps(db, redis), eventsRoutes, catalogRoutes);
}
const events = (n = 1) => Array.from({ length: n }, (_, i) => ({ type: "view", video_id: `v${i + 1}`, watch_ms: 1000, ts: new Date().toISOString(), idempotency_key: `key-${i}-0001` }));
const postEvents = (app: Hono<AppEnv>) =>
  app.request("/internal/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user_id: "u42", home_region: "us", events: events() }) }, {}, ctx);

/** A Postgres where the user lives in us and writes succeed, except for what `fail` answers. */
const db = (fail: (sql: string, n: number) => Answer | undefined = () => undefined) =>
  scriptedDb((sql, _p, n) => {
    const f = fail(sql, n);
    if (f !== undefined) return f;
    if (sql.includes(LOOKUP)) return [{ home_region: "us", have: ["1"] }]; // resident; video v1 exists
    if (sql.includes(INSERT)) return [{ k: "inserted", video_id: "1", type: "view" }, { k: "counted", video_id: "1", type: "view" }];
    return [];
  });

describe("POST /internal/v1/events: the home-region lookup under the DB read row", () => {
  it("a failing lookup is tried 4 times with the read row's 100 ms per try, then 503; nothing is written", async () => {
    const d = db((sql) => (sql.includes(LOOKUP) ? new Error("connection refused") : undefined));
    const res = await postEvents(appWith(d));
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe("db_unavailable");
    expect(d.triesOf(LOOKUP).map((t) => t.timeoutMs)).toEqual([100, 100, 100, 100]);
    expect(d.triesOf(INSERT)).toHaveLength(0);
  });

  it("a hung lookup is cut at each 100 ms try: 4 tries, then 503", async () => {
    const d = db((sql) => (sql.includes(LOOKUP) ? "hang" : undefined));
    expect((await postEvents(appWith(d))).status).toBe(503);
    expect(d.triesOf(LOOKUP)).toHaveLength(4);
  });

  it("a lookup that answers on its third try writes the events once", async () => {
    const d = db((sql, n) => (sql.includes(LOOKUP) && n < 3 ? new Error("reset") : undefined));
    const res = await postEvents(appWith(d));
    expect(res.status).toBe(200);
    expect(d.triesOf(LOOKUP)).toHaveLength(3);
    expect(d.triesOf(INSERT)).toHaveLength(1);
  });
});

describe("POST /internal/v1/events: the insert and the timeline append under the DB write row", () => {
  it("a failing insert is tried 4 times (5 s per try, the write backoff between tries), then 503 with retry-after", async () => {
    const d = db((sql) => (sql.includes(INSERT) ? new Error("connection reset") : undefined));
    const res = await postEvents(appWith(d));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
    const tries = d.triesOf(INSERT);
    expect(tries.map((t) => t.timeoutMs)).toEqual([5000, 5000, 5000, 5000]);
    [100, 500, 2000].forEach((base, i) => expect(tries[i + 1].at - tries[i].at).toBeGreaterThanOrEqual(base * 0.7 - 1));
    expect(d.triesOf(LOOKUP)).toHaveLength(1);
  });

  it("a permanent SQLSTATE is one try and a 422 the consumer dead-letters", async () => {
    const d = db((sql) => (sql.includes(INSERT) ? pgError("22008", "date/time field value out of range") : undefined));
    const res = await postEvents(appWith(d));
    expect(res.status).toBe(422);
    expect((await res.json()).error).toMatchObject({ code: "unwritable", field: "events" });
    expect(d.triesOf(INSERT)).toHaveLength(1);
  });

  it("a failing timeline append is tried 4 times with the 5 s per try, then 503 (the redelivery appends what is missing)", async () => {
    const d = db((sql) => (sql.includes(APPEND) ? new Error("connection reset") : undefined));
    expect((await postEvents(appWith(d))).status).toBe(503);
    expect(d.triesOf(APPEND).map((t) => t.timeoutMs)).toEqual([5000, 5000, 5000, 5000]);
    expect(d.triesOf(INSERT)).toHaveLength(1);
  });
});

describe("GET /internal/v1/videos/:id: the video metadata read", () => {
  const row = { video_id: "77", author_id: "7", embedding: Array(EMBEDDING_DIM).fill(0.25), views: "3", likes: "1", created_at: new Date(0).toISOString(), duration_ms: 1000, caption: "c", upload_region: "us" };

  it("Redis failing: 3 feature-store tries; Postgres answering on its third try: 200", async () => {
    const redis = scriptedRedis();
    const d = scriptedDb((_s, _p, n) => (n < 3 ? new Error("reset") : [row]));
    const res = await appWith(d, redis).request("/internal/v1/videos/v77", {}, {}, ctx);
    expect(res.status).toBe(200);
    expect((await res.json()).video_id).toBe("v77");
    expect(redis.calls.mget).toBe(3); // the live counts do not ask a Redis that just failed
    // The read row's three tries, then one try of the live counts' row read (origin/live-stats.ts).
    expect(d.tries.map((t) => t.timeoutMs)).toEqual([100, 100, 100, 100]);
  });

  it("Postgres failing: 4 tries of the read, then an error answer (JSON, no stack)", async () => {
    const d = scriptedDb();
    const res = await appWith(d).request("/internal/v1/videos/v78", {}, {}, ctx);
    expect(res.ok).toBe(false);
    expect((await res.json()).error.code).toBeTruthy();
    expect(d.tries).toHaveLength(4);
  });
});
