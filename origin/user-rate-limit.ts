import type { Redis } from "@upstash/redis/cloudflare";
import { ApiError } from "../shared/errors.ts";

// Per-user rate-limit counters in Redis (app cache, tier 3): a fixed one-minute window per user shared by
// every origin isolate of the region (the edge's per-IP limit cannot see users behind one NAT, nor one
// user spread over many IPs). Fails open: when Redis is unavailable the feed is not refused for it.
export const FEED_REQUESTS_PER_MINUTE = 300;

export async function checkUserRate(redis: Redis, userId: string, limit = FEED_REQUESTS_PER_MINUTE, now = Date.now()): Promise<void> {
  const window = Math.floor(now / 60_000);
  const key = `rl:feed:${userId}:${window}`;
  let n: number;
  try {
    const p = redis.pipeline();
    p.incr(key);
    p.expire(key, 120);
    n = Number(((await p.exec()) as unknown[])[0]);
  } catch {
    return;
  }
  if (n > limit) {
    const retryAfter = Math.max(1, Math.ceil((window + 1) * 60 - now / 1000));
    throw new ApiError(429, "rate_limited", `more than ${limit} feed requests this minute`, "user_id", { "retry-after": String(retryAfter) });
  }
}
