import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "@upstash/redis/cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis } from "../../scripts/local/redis.ts";
import { startUpstashBridge } from "../../scripts/local/upstash-bridge.ts";
import { checkUserRate } from "../../origin/user-rate-limit.ts";
import { freePort } from "../../scripts/local/free-port.ts";

// The origin's per-user rate-limit counters on a real Redis through the Upstash REST bridge, with the
// same client the origin uses in workerd.
let dir: string;
let redisSrv: Awaited<ReturnType<typeof startRedis>>;
let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
let redis: Redis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "user-rl-"));
  redisSrv = await startRedis({ port: await freePort(), dir, name: "redis-rl" });
  bridge = await startUpstashBridge({ port: 0, redisPort: redisSrv.port, token: "t" });
  redis = new Redis({ url: bridge.url, token: "t", automaticDeserialization: false, retry: false });
});
afterAll(async () => {
  await bridge?.close();
  await redisSrv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("per-user rate limit counters", () => {
  it("allows the limit within a minute, then 429 with retry-after; a new window starts fresh", async () => {
    const now = Date.UTC(2026, 10, 25, 10, 0, 30);
    for (let i = 0; i < 5; i++) await checkUserRate(redis, "42", 5, now);
    const err = await checkUserRate(redis, "42", 5, now).catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: "rate_limited", field: "user_id" });
    expect(err.headers["retry-after"]).toBe("30");
    await checkUserRate(redis, "43", 5, now); // other users are unaffected
    await checkUserRate(redis, "42", 5, now + 60_000); // next window
  });

  it("fails open when Redis is down", async () => {
    await redisSrv.stop();
    await expect(checkUserRate(redis, "42", 0)).resolves.toBeUndefined();
    await redisSrv.restart();
  });
});
