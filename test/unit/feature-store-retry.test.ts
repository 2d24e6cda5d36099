import { describe, expect, it } from "vitest";
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import { RetryExhaustedError } from "../../shared/retry.ts";
import { DependencyHealth } from "../../origin/dependency-health.ts";
import { FeatureStore, type FeatureStoreMode } from "../../origin/feature-store.ts";
import { Metrics } from "../../origin/metrics.ts";
import type { Db } from "../../origin/db.ts";
import type { Redis } from "@upstash/redis/cloudflare";
import { scriptedDb, scriptedRedis } from "../support/failing-deps.ts";

// Feature-store call sites (origin/feature-store.ts) with the production rows: each Redis feature read
// under the feature-store row (2 retries → 3 tries, 5 ms per try), then the Postgres fallback under the
// DB read row (3 retries → 4 tries, 100 ms per try). Redis fails (or hangs) on every try; a recording Db
// behind our interface answers or fails. Video ids are unique per test: the store memoises decoded videos.

const emb = Array.from({ length: EMBEDDING_DIM }, (_, i) => (i === 0 ? 1 : 0));
const videoRow = (id: string) => ({
  video_id: id, author_id: "7", embedding: emb, views: "10", likes: "1", created_at: new Date(0).toISOString(), duration_ms: 1000, caption: `c${id}`, upload_region: "us",
});
/** Postgres that has every video asked for and one user with a follow and a recent video. */
const pgAnswers = (sql: string, params: unknown[]) => {
  if (sql.includes("FROM videos WHERE video_id = ANY")) return (params[0] as string[]).map(videoRow);
  if (sql.includes("FROM users")) return [{ embedding: emb, home_region: "us" }];
  if (sql.includes("FROM follows")) return [{ followee_id: "9" }];
  if (sql.includes("FROM interactions")) return [{ video_id: "11" }];
  if (sql.includes("ORDER BY views DESC")) return [{ embedding: emb, views: "5" }];
  return [];
};
const store = (redis: Redis, db: Db, mode: FeatureStoreMode = "full", health?: DependencyHealth) => new FeatureStore(redis, db, new Metrics("us"), health, mode);

describe("feature store: Redis feature reads under the feature-store row, then Postgres", () => {
  it("videos: MGET fails → exactly 3 tries, then one Postgres read for the misses", async () => {
    const redis = scriptedRedis();
    const db = scriptedDb(pgAnswers);
    const { values, redisOk } = await store(redis, db).videos(["9101", "9102"]);
    expect(redis.calls.mget).toBe(3);
    expect(redisOk).toBe(false);
    expect([...values.keys()].sort()).toEqual(["9101", "9102"]);
    expect(db.triesOf("FROM videos")).toHaveLength(1);
    expect(db.triesOf("FROM videos")[0].timeoutMs).toBe(100);
  });

  it("videos: a hung Redis is cut at each 5 ms try: 3 tries, then Postgres", async () => {
    const redis = scriptedRedis(() => "hang");
    const db = scriptedDb(pgAnswers);
    const { values } = await store(redis, db).videos(["9111"]);
    expect(redis.calls.mget).toBe(3);
    expect(values.has("9111")).toBe(true);
  });

  it("videos: Redis answering on the third try is a hit, Postgres untouched", async () => {
    const cached = JSON.stringify({ a: "7", e: Buffer.from(new Float32Array(emb).buffer).toString("base64"), w: 1, l: 0, c: 0, d: 1, t: "x", r: "us" });
    const redis = scriptedRedis((_cmd, n) => (n < 3 ? new Error("reset") : [cached]));
    const db = scriptedDb(pgAnswers);
    const { values, redisOk } = await store(redis, db).videos(["9121"]);
    expect(redis.calls.mget).toBe(3);
    expect(redisOk).toBe(true);
    expect(values.get("9121")?.author).toBe("7");
    expect(db.tries).toHaveLength(0);
  });

  it("user: GET fails → 3 tries, then the Postgres reads, each once when they answer", async () => {
    const redis = scriptedRedis();
    const db = scriptedDb(pgAnswers);
    const { user, redisOk } = await store(redis, db).user("42");
    expect(redis.calls.get).toBe(3);
    expect(redisOk).toBe(false);
    expect(user).toMatchObject({ followees: ["9"], recent: ["11"] });
    for (const t of ["FROM users", "FROM follows", "FROM interactions"]) expect(db.triesOf(t), t).toHaveLength(1);
  });

  it("one failed read (3 tries) is one failed operation of the Redis health, not three", async () => {
    const health = new DependencyHealth("redis");
    await store(scriptedRedis(), scriptedDb(pgAnswers), "full", health).user("43");
    expect(health.view()).toMatchObject({ consecutiveFailures: 1, samples: 1, available: true });
  });

  it("cache-only (level 3): Redis only, 3 tries, then the read fails; Postgres never touched", async () => {
    const redis = scriptedRedis();
    const db = scriptedDb(pgAnswers);
    await expect(store(redis, db, "cache-only").videos(["9131"])).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(redis.calls.mget).toBe(3);
    await expect(store(redis, db, "cache-only").user("44")).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(redis.calls.get).toBe(3);
    expect(db.tries).toHaveLength(0);
  });
});

describe("feature store: the Postgres fallback under the DB read row", () => {
  it("videos: Redis and Postgres both failing → 3 Redis tries, then 4 Postgres tries, then RetryExhaustedError", async () => {
    const redis = scriptedRedis();
    const db = scriptedDb();
    const err = await store(redis, db).videos(["9141"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhaustedError);
    expect(redis.calls.mget).toBe(3);
    expect(db.triesOf("FROM videos").map((t) => t.timeoutMs)).toEqual([100, 100, 100, 100]);
  });

  it("user: each of the user's reads is tried 4 times", async () => {
    const db = scriptedDb((sql, params) => (sql.includes("FROM follows") ? new Error("reset") : pgAnswers(sql, params)));
    await expect(store(scriptedRedis(), db).user("45")).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(db.triesOf("FROM follows")).toHaveLength(4);
    expect(db.triesOf("FROM users")).toHaveLength(1);
  });

  it("cold-start (level 2): no Redis; the user's reads recover on a later try", async () => {
    const redis = scriptedRedis();
    const db = scriptedDb((sql, params, n) => (sql.includes("FROM users") && n < 4 ? new Error("reset") : pgAnswers(sql, params)));
    const { user } = await store(redis, db, "cold-start").user("46");
    expect(user?.followees).toEqual(["9"]);
    expect(db.triesOf("FROM users")).toHaveLength(4);
    expect(Object.keys(redis.calls)).toHaveLength(0);
  });
});
