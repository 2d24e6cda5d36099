import type { Redis } from "@upstash/redis/cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainKey } from "../../origin/chains.ts";
import { DependencyHealth } from "../../origin/dependency-health.ts";
import { userFeatureKey } from "../../origin/feature-store.ts";
import { readAhead } from "../../origin/feed/read-ahead.ts";
import { redisFor } from "../../origin/redis.ts";
import { type LocalRedis, startLocalRedis } from "../support/local-redis.ts";

// The feed's read-ahead pipeline (origin/feed/read-ahead.ts) on a real Redis through the Upstash REST
// bridge, with the origin's client: the rate limit and the request's first GET in one POST /pipeline.
let local: LocalRedis;
let redis: Redis;

beforeAll(async () => {
  local = await startLocalRedis("redis-ra");
  redis = redisFor(local.cfg);
});
afterAll(async () => local?.stop());

describe("feed read-ahead: rate limit + user features in one pipeline", () => {
  it("hands over the GET it was asked for (user features or a chain; null when absent) and records one Redis sample each", async () => {
    await redis.set(userFeatureKey("7"), '{"e":"AA=="}');
    await redis.set(chainKey("c1"), '{"u":"7","items":[]}');
    const health = new DependencyHealth("redis");
    const user = { user: true as const };
    expect(await readAhead(redis, health, "7", user)).toEqual({ user: { id: "7", value: '{"e":"AA=="}' } });
    expect(await readAhead(redis, health, "8", user)).toEqual({ user: { id: "8", value: null } });
    expect(await readAhead(redis, health, "7", { chain: "c1" })).toEqual({ chain: { id: "c1", value: '{"u":"7","items":[]}' } });
    expect(await readAhead(redis, health, "7", { chain: "gone" })).toEqual({ chain: { id: "gone", value: null } });
    expect(await readAhead(redis, health, "7", null)).toEqual({}); // rate limit only
    expect(health.view().samples).toBe(4);
  });

  it("counts the user's window and answers 429 over the limit; other users and the next window are free", async () => {
    const now = Date.UTC(2026, 10, 25, 10, 0, 30);
    for (let i = 0; i < 3; i++) await readAhead(redis, undefined, "42", { user: true }, 3, now);
    const err = await readAhead(redis, undefined, "42", { user: true }, 3, now).catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: "rate_limited", field: "user_id" });
    expect(err.headers["retry-after"]).toBe("30");
    await expect(readAhead(redis, undefined, "43", { user: true }, 3, now)).resolves.toMatchObject({ user: { id: "43" } });
    await expect(readAhead(redis, undefined, "42", { user: true }, 3, now + 60_000)).resolves.toMatchObject({ user: { id: "42" } });
    expect(Number(await redis.ttl(`rl:feed:42:${Math.floor(now / 60_000)}`))).toBeGreaterThan(60);
  });

  it("fails open with Redis down: no 429, nothing handed over, nothing recorded (the feature store reads on its own)", async () => {
    const health = new DependencyHealth("redis");
    await local.server.stop();
    try {
      await expect(readAhead(redis, health, "42", { chain: "c1" }, 0)).resolves.toEqual({});
      expect(health.view().samples).toBe(0);
    } finally {
      await local.server.restart();
    }
  });
});
