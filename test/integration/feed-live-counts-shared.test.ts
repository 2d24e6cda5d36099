import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { flushCounters } from "../../origin/counter-flush.ts";
import { bumpCounters, counterKey } from "../../origin/live-counters.ts";
import { clearLiveStats, readSharedLiveCounts, SHARED_ROW_S, sharedRowKey } from "../../origin/live-stats.ts";
import { redisFor } from "../../origin/redis.ts";
import { scriptedDb } from "../support/failing-deps.ts";
import { type LocalRedis, startLocalRedis } from "../support/local-redis.ts";

// A feed page's live counts (origin/live-stats.ts readSharedLiveCounts) on a real redis-server behind the
// Upstash REST bridge, with the origin's client; Postgres through our Db interface (a scripted one that
// records each read: the point is when Postgres is read, not what it computes). Issue 13: no Postgres
// read on the page's path; issue 14: the counts catch up within SHARED_ROW_S.

let r: LocalRedis;
beforeAll(async () => {
  r = await startLocalRedis("live-shared");
});
afterAll(async () => r?.stop());
beforeEach(async () => {
  await r.raw.flushall();
  clearLiveStats();
});

const ROW = "SELECT video_id, views, likes FROM videos";
const rowsDb = (rows: Record<string, [number, number]>) =>
  scriptedDb((sql, params) => (sql.startsWith(ROW) ? (params[0] as string[]).filter((id) => rows[id]).map((id) => ({ video_id: id, views: String(rows[id][0]), likes: String(rows[id][1]) })) : []));

describe("feed items' live counts: shared rows + deltas in one Redis read, Postgres after the response", () => {
  it("first page: cached counts + deltas, Postgres read only in the deferred refresh, which shares the rows for 10 s; the next page reads them", async () => {
    const redis = redisFor(r.cfg);
    await r.raw.set(counterKey("1", "likes"), 2);
    const db = rowsDb({ "1": [100, 10], "2": [50, 5] });
    const deferred: Promise<unknown>[] = [];
    const live = await readSharedLiveCounts(db, redis, ["1", "2"], true, (p) => deferred.push(p));
    expect(live("1", { views: 90, likes: 9 })).toEqual({ views: 90, likes: 11 });
    expect(live("2", { views: 40, likes: 4 })).toEqual({ views: 40, likes: 4 });
    await Promise.all(deferred);
    expect(db.triesOf(ROW)).toHaveLength(1);
    expect(await r.raw.get(sharedRowKey("1"))).toBe("100:10");
    expect(await r.raw.ttl(sharedRowKey("1"))).toBeLessThanOrEqual(SHARED_ROW_S);
    clearLiveStats();
    const next = await readSharedLiveCounts(db, redis, ["1", "2"], true, (p) => deferred.push(p));
    expect(next("1", { views: 90, likes: 9 })).toEqual({ views: 100, likes: 12 });
    expect(next("2", { views: 40, likes: 4 })).toEqual({ views: 50, likes: 5 });
    expect(db.triesOf(ROW)).toHaveLength(1); // no second refresh while the rows are shared
  });

  it("a flush drops the shared rows of what it moved, so a like is neither lost nor counted twice", async () => {
    const redis = redisFor(r.cfg);
    await r.raw.set(sharedRowKey("1"), "100:10");
    await bumpCounters(redis, [{ video_id: "1", type: "like" }]);
    const before = await readSharedLiveCounts(rowsDb({}), redis, ["1"], true, () => {});
    expect(before("1", { views: 0, likes: 0 })).toEqual({ views: 100, likes: 11 });
    // The flush moves the delta into the row (the scripted upsert) and drops the shared row.
    const flushDb = scriptedDb(() => []);
    expect((await flushCounters(flushDb, redis, "us")).likes).toBe(1);
    expect(await r.raw.get(sharedRowKey("1"))).toBeNull();
    clearLiveStats();
    const deferred: Promise<unknown>[] = [];
    const after = await readSharedLiveCounts(rowsDb({ "1": [100, 11] }), redis, ["1"], true, (p) => deferred.push(p));
    expect(after("1", { views: 100, likes: 10 }).likes).toBe(10); // this page: the cached base, delta gone into the row
    await Promise.all(deferred);
    clearLiveStats();
    expect((await readSharedLiveCounts(rowsDb({}), redis, ["1"], true, () => {}))("1", { views: 0, likes: 0 })).toEqual({ views: 100, likes: 11 });
  });

  it("a Postgres that never answers does not hold the page: its read is the deferred refresh's alone", async () => {
    const hung = scriptedDb(() => "hang");
    const deferred: Promise<unknown>[] = [];
    const live = await readSharedLiveCounts(hung, redisFor(r.cfg), ["5"], true, (p) => deferred.push(p));
    expect(live("5", { views: 3, likes: 1 })).toEqual({ views: 3, likes: 1 });
    expect(deferred).toHaveLength(1);
    expect(hung.triesOf(ROW)).toHaveLength(1);
  });

  it("cache-only (level 3): no refresh from Postgres; Redis failing: the cached counts, never a rejection", async () => {
    const db = rowsDb({ "1": [100, 10] });
    const deferred: Promise<unknown>[] = [];
    const live = await readSharedLiveCounts(db, redisFor(r.cfg), ["1"], false, (p) => deferred.push(p));
    expect(deferred).toHaveLength(0);
    expect(live("1", { views: 7, likes: 1 })).toEqual({ views: 7, likes: 1 });
    const down = redisFor({ ...r.cfg, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" });
    clearLiveStats();
    const failing = await readSharedLiveCounts(db, down, ["1"], true, (p) => deferred.push(p));
    expect(failing("1", { views: 7, likes: 1 })).toEqual({ views: 7, likes: 1 });
    expect(db.tries).toHaveLength(0);
  });
});
