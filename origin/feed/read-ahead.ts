import type { Redis } from "@upstash/redis/cloudflare";
import type { DependencyHealth } from "../dependency-health.ts";
import { chainKey } from "../chains.ts";
import { userFeatureKey } from "../feature-store.ts";
import { enforceUserRate, FEED_REQUESTS_PER_MINUTE, rateWindow } from "../user-rate-limit.ts";

// The first Redis round trip of a signed-in feed read (issue 13: Redis round trips per miss): ONE Upstash
// pipeline (POST /pipeline) holding the user's rate-limit window (INCR + EXPIRE, origin/user-rate-limit.ts)
// and the first key the request will GET: a first page's user features (`fs:u:<id>`,
// origin/feature-store.ts) when its feature store reads them from Redis, or a cursor page's chain
// (`fyp:chain:<id>`, origin/chains.ts) — instead of one REST call for each. Each REST call costs CPU in the
// origin and in Upstash's front; on the miss path they were two of four sequential round trips.
//
// Semantics are the two calls' own:
//  - the rate limit fails open (the pipeline failed, or INCR answered an error) and throws the 429
//    ApiError when the window's count is over the limit;
//  - the GET: a successful pipeline's answer (a value, or null = not cached) is handed to the request's
//    FeatureStore or ChainStore as its Redis read, and that success is the ONE sample Redis health gets
//    for the read (the pipeline's wall time). When the pipeline fails nothing is recorded and no answer is
//    handed over: the store makes its own read (the feature store under its retry row), observed as
//    before, so a failing Redis is judged exactly as without the read-ahead.

/** A GET answered by the read-ahead for the user's features or a chain: `value` is the stored JSON, or null when absent. */
export interface PrimedRead {
  id: string;
  value: string | null;
}

/** What the read-ahead handed over: at most one of them (the one GET it was asked for). */
export interface ReadAhead {
  user?: PrimedRead;
  chain?: PrimedRead;
}

/**
 * Runs the read-ahead pipeline for `userId` (numeric string); `get`: the one GET to include — the user's
 * features, a chain (by chain id), or none. Resolves with what it read (empty when asked for nothing or
 * the pipeline failed); throws the 429 ApiError when over `limit` feed requests this minute. Times out
 * with the client's REDIS_TIMEOUT_MS (origin/redis.ts), like the rate check on its own.
 */
export async function readAhead(
  redis: Redis, health: DependencyHealth | undefined, userId: string, get: { user: true } | { chain: string } | null,
  limit = FEED_REQUESTS_PER_MINUTE, now = Date.now(),
): Promise<ReadAhead> {
  const { key, ttlS } = rateWindow(userId, now);
  const t0 = performance.now();
  let out: { result?: unknown; error?: string }[];
  try {
    const p = redis.pipeline();
    p.incr(key);
    p.expire(key, ttlS);
    if (get) p.get("chain" in get ? chainKey(get.chain) : userFeatureKey(userId));
    out = (await p.exec({ keepErrors: true })) as { result?: unknown; error?: string }[];
  } catch {
    return {}; // fail open; the stores read (and observe) on their own
  }
  const read: ReadAhead = {};
  if (get && !out[2]?.error) {
    const value = (out[2]?.result ?? null) as string | null;
    if ("chain" in get) read.chain = { id: get.chain, value };
    else read.user = { id: userId, value };
    health?.ok(performance.now() - t0);
  }
  if (!out[0]?.error) enforceUserRate(Number(out[0].result), limit, now);
  return read;
}
