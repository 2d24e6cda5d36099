import type { Redis } from "@upstash/redis/cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAhead } from "../../origin/feed/read-ahead.ts";
import { redisFor } from "../../origin/redis.ts";
import { type LocalRedis, startLocalRedis } from "../support/local-redis.ts";

// The origin's per-user rate-limit counters on a real Redis through the Upstash REST bridge, with the
// same client the origin uses in workerd. The feed route counts the window in its read-ahead pipeline
// (origin/feed/read-ahead.ts); asked for no GET, that pipeline is the rate limit alone.
let local: LocalRedis;
let redis: Redis;
const rateOnly = (userId: string, limit: number, now?: number) => readAhead(redis, undefined, userId, null, limit, now);

beforeAll(async () => {
  local = await startLocalRedis("redis-rl");
  redis = redisFor(local.cfg);
});
afterAll(async () => local?.stop());

describe("per-user rate limit counters", () => {
  it("allows the limit within a minute, then 429 with retry-after; a new window starts fresh", async () => {
    const now = Date.UTC(2026, 10, 25, 10, 0, 30);
    for (let i = 0; i < 5; i++) await rateOnly("42", 5, now);
    const err = await rateOnly("42", 5, now).catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: "rate_limited", field: "user_id" });
    expect(err.headers["retry-after"]).toBe("30");
    await rateOnly("43", 5, now); // other users are unaffected
    await rateOnly("42", 5, now + 60_000); // next window
  });

  it("fails open when Redis is down", async () => {
    await local.server.stop();
    await expect(rateOnly("42", 0)).resolves.toEqual({});
    await local.server.restart();
  });
});
