import type { Redis } from "@upstash/redis/cloudflare";
import { ApiError } from "../shared/errors.ts";

// Per-user rate-limit counters in Redis (app cache, tier 3): a fixed one-minute window per user shared by
// every origin isolate of the region (the edge's per-IP limit cannot see users behind one NAT, nor one
// user spread over many IPs). Fails open: when Redis is unavailable the feed is not refused for it.
// The feed route sends the window's INCR + EXPIRE in the same Upstash pipeline as its first read
// (origin/feed/read-ahead.ts); checkUserRate is the same check on its own.
export const FEED_REQUESTS_PER_MINUTE = 300;
/** Lifetime of a window's counter (s): two windows, so a counter outlives its minute whatever the clock skew. */
const WINDOW_KEY_TTL_S = 120;

/** The counter key of `userId`'s window at `now` (ms) and its two commands, for any pipeline. */
export function rateWindow(userId: string, now: number): { key: string; window: number; ttlS: number } {
  const window = Math.floor(now / 60_000);
  return { key: `rl:feed:${userId}:${window}`, window, ttlS: WINDOW_KEY_TTL_S };
}

/** Throws the 429 ApiError (with retry-after, s) when `count` requests this window exceed `limit`. */
export function enforceUserRate(count: number, limit = FEED_REQUESTS_PER_MINUTE, now = Date.now()): void {
  if (count <= limit) return;
  const window = Math.floor(now / 60_000);
  const retryAfter = Math.max(1, Math.ceil((window + 1) * 60 - now / 1000));
  throw new ApiError(429, "rate_limited", `more than ${limit} feed requests this minute`, "user_id", { "retry-after": String(retryAfter) });
}

export async function checkUserRate(redis: Redis, userId: string, limit = FEED_REQUESTS_PER_MINUTE, now = Date.now()): Promise<void> {
  const { key, ttlS } = rateWindow(userId, now);
  let n: number;
  try {
    const p = redis.pipeline();
    p.incr(key);
    p.expire(key, ttlS);
    n = Number(((await p.exec()) as unknown[])[0]);
  } catch {
    return;
  }
  enforceUserRate(n, limit, now);
}
