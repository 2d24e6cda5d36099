import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { TTL } from "../../shared/config.ts";
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import { FeatureStore, type FeatureStoreMode } from "../../origin/feature-store.ts";
import { Metrics } from "../../origin/metrics.ts";
import { redisFor } from "../../origin/redis.ts";
import { originRetry, PRODUCTION_ORIGIN_RETRY, useIsolateRetry } from "../../origin/retry-policy.ts";
import { scriptedDb } from "../support/failing-deps.ts";
import { type LocalRedis, startLocalRedis } from "../support/local-redis.ts";

// The feature store's tiers (DESIGN §3 T4, origin/feature-store.ts) on a real redis-server through the
// origin's own Upstash client and the local REST bridge: the TTLs of what it writes back (user features
// 1 h, video features 6 h: TTL.featureUser / TTL.featureVideo), the per-isolate memo of decoded videos
// (30 s) in front of Redis, and hit counting per tier (fyp_cache_requests_total: tier="feature" counts
// Redis lookups only; tier="feature_memo" counts the isolate memo's). Postgres is a recording Db behind our
// own interface (test/support/failing-deps.ts) that has every video and user asked for. Video ids are
// unique per test: the memo is per isolate (module). Redis feature reads get the local stacks' 50 ms per try
// (RETRY_FEATURE_STORE_TRY_MS; the seed's 5 ms fails often through the REST bridge on this box): what is
// checked here is where reads land and how long entries live, not the row (test/unit/feature-store-retry.test.ts).

let redis: LocalRedis;

const emb = Array.from({ length: EMBEDDING_DIM }, (_, i) => (i === 0 ? 1 : 0));
const videoRow = (id: string) => ({
  video_id: id, author_id: "7", embedding: emb, views: "10", likes: "1", created_at: new Date(0).toISOString(), duration_ms: 1000, caption: `c${id}`, upload_region: "us",
});
const pg = () =>
  scriptedDb((sql, params) => {
    if (sql.includes("FROM videos WHERE video_id = ANY")) return (params[0] as string[]).map(videoRow);
    if (sql.includes("FROM users")) return [{ embedding: emb, home_region: "us" }];
    if (sql.includes("FROM follows")) return [{ followee_id: "9" }];
    if (sql.includes("FROM interactions")) return [{ video_id: "11" }];
    return [];
  });

/** fyp_cache_requests_total for one tier and result, from the registry's exposition text. */
function cacheCount(m: Metrics, tier: string, result: "hit" | "miss"): number {
  const line = m.render().split("\n").find((l) => l.startsWith("fyp_cache_requests_total{") && l.includes(`tier="${tier}"`) && l.includes(`result="${result}"`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}
const counts = (m: Metrics) => ({
  redisHit: cacheCount(m, "feature", "hit"), redisMiss: cacheCount(m, "feature", "miss"),
  memoHit: cacheCount(m, "feature_memo", "hit"), memoMiss: cacheCount(m, "feature_memo", "miss"),
});
const store = (m: Metrics, db = pg(), mode: FeatureStoreMode = "full") => new FeatureStore(redisFor(redis.cfg), db, m, undefined, mode);

beforeAll(async () => {
  redis = await startLocalRedis("feature-cache-redis");
  useIsolateRetry(originRetry({ featureStoreTryMs: 50 }));
}, 60_000);

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  useIsolateRetry(PRODUCTION_ORIGIN_RETRY);
  await redis?.stop();
});

describe("feature store TTLs", () => {
  it("video features are written back for 6 h, user features for 1 h", async () => {
    const db = pg();
    await store(new Metrics("us"), db).videos(["7301", "7302"]);
    await store(new Metrics("us"), db).user("7399");
    for (const k of ["fs:v:7301", "fs:v:7302"]) {
      const ttl = await redis.raw.ttl(k);
      expect(ttl, k).toBeLessThanOrEqual(TTL.featureVideo);
      expect(ttl, k).toBeGreaterThan(TTL.featureVideo - 30);
    }
    expect(TTL.featureVideo).toBe(6 * 3600);
    const userTtl = await redis.raw.ttl("fs:u:7399");
    expect(userTtl).toBeLessThanOrEqual(TTL.featureUser);
    expect(userTtl).toBeGreaterThan(TTL.featureUser - 30);
    expect(TTL.featureUser).toBe(3600);
  });

  it("a batch-only (level 1) user read writes nothing back: it has no recent activity to cache", async () => {
    await store(new Metrics("us"), pg(), "batch-only").user("7398");
    expect(await redis.raw.exists("fs:u:7398")).toBe(0);
  });
});

describe("feature store hit counting per tier", () => {
  it("Postgres → Redis → isolate memo: each read is counted at the tier that answered it", async () => {
    const ids = ["7311", "7312", "7313"];
    // 1. Nothing cached: memo misses, Redis misses, one Postgres read.
    const m1 = new Metrics("us");
    const db1 = pg();
    await store(m1, db1).videos(ids);
    expect(counts(m1)).toEqual({ redisHit: 0, redisMiss: 3, memoHit: 0, memoMiss: 3 });
    expect(db1.triesOf("FROM videos")).toHaveLength(1);

    // 2. Same isolate, next request: the memo answers; Redis is not asked, so no Redis hit is counted.
    const m2 = new Metrics("us");
    const db2 = pg();
    const { values } = await store(m2, db2).videos(ids);
    expect([...values.keys()].sort()).toEqual(ids);
    expect(counts(m2)).toEqual({ redisHit: 0, redisMiss: 0, memoHit: 3, memoMiss: 0 });
    expect(db2.tries).toHaveLength(0);

    // 3. Past the memo's 30 s: Redis answers (6 h TTL), Postgres is not read.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31_000);
    const m3 = new Metrics("us");
    const db3 = pg();
    await store(m3, db3).videos(ids);
    expect(counts(m3)).toEqual({ redisHit: 3, redisMiss: 0, memoHit: 0, memoMiss: 3 });
    expect(db3.tries).toHaveLength(0);
  });

  it("user features: a Redis miss then a Redis hit (users are not memoised)", async () => {
    const m = new Metrics("us");
    await store(m).user("7397");
    await store(m).user("7397");
    expect(counts(m)).toEqual({ redisHit: 1, redisMiss: 1, memoHit: 0, memoMiss: 0 });
  });

  it("cache-only (level 3) reads are Redis lookups too: counted as such", async () => {
    await store(new Metrics("us")).videos(["7321"]); // cached in Redis (and in the memo, which cache-only skips)
    const m = new Metrics("us");
    const db = pg();
    const only = store(m, db, "cache-only");
    expect([...(await only.videos(["7321", "7322"])).values.keys()]).toEqual(["7321"]);
    expect(await only.user("7396")).toMatchObject({ user: null });
    expect(counts(m)).toEqual({ redisHit: 1, redisMiss: 2, memoHit: 0, memoMiss: 0 });
    expect(db.tries).toHaveLength(0);
  });
});
