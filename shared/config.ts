// Typed platform configuration: the seed's retry table, breaker thresholds, cache TTLs and degradation
// levels. Every tier imports these from here so a number lives in exactly one place.

export interface RetryPolicy {
  /** Retries after the first try. */
  retries: number;
  /** Backoff before retry i (ms); the last value repeats if retries > delays. */
  delaysMs: readonly number[];
  /** Jitter as a fraction of the delay (0.2 = ±20%). */
  jitter: number;
  /** Timeout of each individual try (ms). */
  perTryTimeoutMs: number;
}

export const RETRY = {
  featureStore: { retries: 2, delaysMs: [10, 50], jitter: 0.1, perTryTimeoutMs: 5 },
  mlInference: { retries: 1, delaysMs: [20], jitter: 0.2, perTryTimeoutMs: 40 },
  dbRead: { retries: 3, delaysMs: [10, 50, 200], jitter: 0.2, perTryTimeoutMs: 100 },
  dbWrite: { retries: 3, delaysMs: [100, 500, 2000], jitter: 0.3, perTryTimeoutMs: 5000 },
  cdnOrigin: { retries: 2, delaysMs: [100, 500], jitter: 0.2, perTryTimeoutMs: 2000 },
  externalApi: { retries: 3, delaysMs: [1000, 5000, 15000], jitter: 0.5, perTryTimeoutMs: 30000 },
} as const satisfies Record<string, RetryPolicy>;

/** A row of the seed's retry table. */
export type RetryRow = keyof typeof RETRY;

/**
 * The seed's `row` with its per-try timeout (ms) replaced by `perTryTimeoutMs` when one is given (a slow
 * local box: origin/env.ts reads it from RETRY_<ROW>_TRY_MS); retries, delays and jitter always stay the
 * seed's (DESIGN.md §3). Throws RangeError for a timeout that is not a positive integer.
 */
export function retryRow(row: RetryRow, perTryTimeoutMs?: number): RetryPolicy {
  const seed: RetryPolicy = RETRY[row];
  if (perTryTimeoutMs === undefined) return seed;
  if (!Number.isInteger(perTryTimeoutMs) || perTryTimeoutMs < 1) throw new RangeError(`per-try timeout of ${row} must be a positive integer (ms), got ${perTryTimeoutMs}`);
  return { ...seed, perTryTimeoutMs };
}

export interface BreakerConfig {
  /** Count-based sliding window size (calls). */
  windowSize: number;
  /** Minimum recorded calls before rates are evaluated. */
  minimumCalls: number;
  /** Open when failure rate ≥ this (percent). */
  failureRateThreshold: number;
  /** Open when slow-call rate ≥ this (percent). */
  slowCallRateThreshold: number;
  /** A call slower than this (ms) is slow. */
  slowCallDurationMs: number;
  /** Time spent open before half-open (ms). */
  waitInOpenMs: number;
  /** Trial calls permitted in half-open. */
  permittedHalfOpenCalls: number;
}

export const RANKING_BREAKER: BreakerConfig = {
  windowSize: 100,
  minimumCalls: 100,
  failureRateThreshold: 50,
  slowCallRateThreshold: 80,
  slowCallDurationMs: 40,
  waitInOpenMs: 30_000,
  permittedHalfOpenCalls: 10,
};

/** Cache TTLs (seconds) per tier. */
export const TTL = {
  edgeFeedPage: 15,
  edgeFeedStale: 120,
  edgeAnonFeed: 30,
  edgeVideo: 60,
  edgeVideoStale: 600,
  /** Continuation pages of a ranked chain the origin sent ahead with a page (edge/chain-cache.ts): the
   * chain is fixed, only the items' view/like counts age (live counts: GET /v1/videos/:id). */
  edgeChainPage: 300,
  trending: 300,
  appFeedList: 300,
  appFeedFallback: 3600,
  featureUser: 3600,
  featureVideo: 6 * 3600,
  session: 86_400,
} as const;

export const CANDIDATES = {
  normalPool: 5000,
  degradedPool: 1000,
  followingLimit: 800,
  trendingLimit: 1500,
  similarLimit: 2500,
  exploreLimit: 400,
  /** How many ranked items one cursor chain keeps (pages are sliced from it). */
  chainLength: 500,
} as const;

export const LEVELS = {
  normal: 0,
  mlDegraded: 1,
  featureStoreDown: 2,
  databaseDegraded: 3,
  regionUnhealthy: 4,
  multiRegionDown: 5,
} as const;
export type DegradationLevel = 0 | 1 | 2 | 3 | 4 | 5;

export const LEVEL_THRESHOLDS = {
  mlP99Ms: 50,
  dbLatencyMs: 100,
} as const;
