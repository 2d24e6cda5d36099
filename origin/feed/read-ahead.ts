import type { Redis } from "@upstash/redis/cloudflare";
import type { DependencyHealth } from "../dependency-health.ts";
import { userFeatureKey } from "../feature-store.ts";
import { enforceUserRate, FEED_REQUESTS_PER_MINUTE, rateWindow } from "../user-rate-limit.ts";

// The first Redis round trip of a signed-in feed read (issue 13: Redis round trips per miss): ONE Upstash
// pipeline (POST /pipeline) holding the user's rate-limit window (INCR + EXPIRE, origin/user-rate-limit.ts)
// and, when the request's feature store will read it from Redis, the GET of the user's features
// (`fs:u:<id>`, origin/feature-store.ts), instead of one REST call for each. Each REST call costs CPU in the
// origin and in Upstash's front; on the miss path they were two of four sequential round trips.
//
// Semantics are the two calls' own:
//  - the rate limit fails open (the pipeline failed, or INCR answered an error) and throws the 429
//    ApiError when the window's count is over the limit;
//  - the user's features: a successful pipeline's GET answer (a value, or null = not cached) is handed to
//    the request's FeatureStore as its Redis read, and that success is the ONE sample Redis health gets
//    for the read (the pipeline's wall time). When the pipeline fails nothing is recorded and no answer is
//    handed over: the feature store makes its own read under the feature-store retry row, observed as
//    before, so a failing Redis is judged exactly as without the read-ahead.

/** A user-features GET answered by the read-ahead: `value` is the cached JSON, or null when not cached. */
export interface PrimedUser {
  id: string;
  value: string | null;
}

/**
 * Runs the read-ahead pipeline for `userId` (numeric string). `withUser`: include the user-features GET.
 * Resolves with the primed user read (null when not asked for or the pipeline failed); throws the 429
 * ApiError when over `limit` feed requests this minute. Times out with the client's REDIS_TIMEOUT_MS
 * (origin/redis.ts), like the rate check on its own.
 */
export async function readAhead(
  redis: Redis, health: DependencyHealth | undefined, userId: string, withUser: boolean,
  limit = FEED_REQUESTS_PER_MINUTE, now = Date.now(),
): Promise<PrimedUser | null> {
  const { key, ttlS } = rateWindow(userId, now);
  const t0 = performance.now();
  let out: { result?: unknown; error?: string }[];
  try {
    const p = redis.pipeline();
    p.incr(key);
    p.expire(key, ttlS);
    if (withUser) p.get(userFeatureKey(userId));
    out = (await p.exec({ keepErrors: true })) as { result?: unknown; error?: string }[];
  } catch {
    return null; // fail open; the feature store reads (and observes) on its own
  }
  const user = withUser && !out[2]?.error ? { id: userId, value: (out[2]?.result ?? null) as string | null } : null;
  if (user) health?.ok(performance.now() - t0);
  if (!out[0]?.error) enforceUserRate(Number(out[0].result), limit, now);
  return user;
}
