import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TTL } from "../../shared/config.ts";
import { levelPolicy } from "../../shared/degradation.ts";
import { type Chain, cachedRecommendations, listChain, storeChain } from "../../origin/chains.ts";
import { redisFor } from "../../origin/redis.ts";
import { type LocalRedis, startLocalRedis } from "../support/local-redis.ts";

// "Cached recommendations (≤ 1 h old)" (DESIGN §3: level 1, and the first fallback when ranking cannot
// answer) on the real chain store (origin/chains.ts) over a redis-server of the test's own through the
// origin's Upstash client: the user's latest ranked chain is served, relabelled `cached`, up to exactly the
// policy's 1 h; a fallback chain (trending, following) never becomes "recommendations". The pipeline's use
// of them, per level and in the fallback order, is tested over in-memory stores (test/unit/feed-levels.test.ts).

let redis: LocalRedis;
const HOUR = 3_600_000;
const NOW = Date.now();
const ranked = (user: string, at: number): Chain => ({ u: user, mv: "m-1", src: "origin", at, items: [["11", 0.9, "similar"], ["12", 0.8, "trending"]] });

beforeAll(async () => {
  redis = await startLocalRedis("cached-recs-redis");
}, 60_000);
afterAll(async () => {
  await redis?.stop();
});

describe("cached recommendations on the real chain store", () => {
  it("the level-1 policy's cutoff is 1 h; a chain 59 min old is served, relabelled cached", async () => {
    expect(levelPolicy(1).cachedRecommendationMaxAgeMs).toBe(HOUR);
    const r = redisFor(redis.cfg);
    expect(await storeChain(r, "c-601", ranked("601", NOW - 59 * 60_000))).toBe(true);
    const got = await cachedRecommendations(r, "601", levelPolicy(1).cachedRecommendationMaxAgeMs, NOW);
    expect(got).toMatchObject({ u: "601", src: "cached", mv: "m-1" });
    expect(got!.items).toEqual([["11", 0.9, "cached"], ["12", 0.8, "cached"]]);
  });

  it("61 min old: none (the caller moves on to trending), with the policy's value and the default alike", async () => {
    const r = redisFor(redis.cfg);
    await storeChain(r, "c-602", ranked("602", NOW - 61 * 60_000));
    expect(await cachedRecommendations(r, "602", levelPolicy(1).cachedRecommendationMaxAgeMs, NOW)).toBeNull();
    expect(await cachedRecommendations(r, "602", undefined, NOW)).toBeNull();
    expect(await cachedRecommendations(r, "602", undefined, NOW - 2 * 60_000)).not.toBeNull(); // 59 min then
  });

  it("a fallback chain stored after a ranked one does not replace the user's recommendations", async () => {
    const r = redisFor(redis.cfg);
    await storeChain(r, "c-603", ranked("603", NOW - 10 * 60_000));
    await storeChain(r, "c-603b", listChain("603", "trending", ["21", "22"], NOW));
    await storeChain(r, "c-603c", listChain("603", "following", ["31"], NOW));
    expect((await cachedRecommendations(r, "603", HOUR, NOW))?.items.map((i) => i[0])).toEqual(["11", "12"]);
  });

  it("chains and the latest-chain pointer live in Redis for 1 h (TTL.appFeedFallback)", async () => {
    const r = redisFor(redis.cfg);
    await storeChain(r, "c-604", ranked("604", NOW));
    for (const k of ["fyp:chain:c-604", "fyp:last:604"]) {
      const ttl = await redis.raw.ttl(k);
      expect(ttl, k).toBeLessThanOrEqual(TTL.appFeedFallback);
      expect(ttl, k).toBeGreaterThan(TTL.appFeedFallback - 30);
    }
    expect(TTL.appFeedFallback).toBe(3600);
  });
});
