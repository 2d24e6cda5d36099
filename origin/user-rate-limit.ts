import { ApiError } from "../shared/errors.ts";

// Per-user rate-limit counters in Redis (app cache, tier 3): a fixed one-minute window per user shared by
// every origin isolate of the region (the edge's per-IP limit cannot see users behind one NAT, nor one
// user spread over many IPs). Fails open: when Redis is unavailable the feed is not refused for it.
// The feed route sends the window's INCR + EXPIRE in the same Upstash pipeline as its first read
// (origin/feed/read-ahead.ts): the only place the window is counted.
export const FEED_REQUESTS_PER_MINUTE = 300;
/** Lifetime of a window's counter (s): two windows, so a counter outlives its minute whatever the clock skew. */
const WINDOW_KEY_TTL_S = 120;

/** The counter key of `userId`'s window at `now` (ms) and the counter's lifetime (s), for the pipeline's INCR + EXPIRE. */
export function rateWindow(userId: string, now: number): { key: string; ttlS: number } {
  return { key: `rl:feed:${userId}:${Math.floor(now / 60_000)}`, ttlS: WINDOW_KEY_TTL_S };
}

/** Throws the 429 ApiError (with retry-after, s) when `count` requests this window exceed `limit`. */
export function enforceUserRate(count: number, limit = FEED_REQUESTS_PER_MINUTE, now = Date.now()): void {
  if (count <= limit) return;
  const window = Math.floor(now / 60_000);
  const retryAfter = Math.max(1, Math.ceil((window + 1) * 60 - now / 1000));
  throw new ApiError(429, "rate_limited", `more than ${limit} feed requests this minute`, "user_id", { "retry-after": String(retryAfter) });
}
