import { retryRow, type RetryPolicy } from "../shared/config.ts";

// The retry rows an origin applies at its I/O call sites (DESIGN.md §3 "Retries", issue 12 item 5):
//  - featureStore (Redis feature reads, origin/feature-store.ts): 2 retries, 10/50 ms ±10%, 5 ms per try;
//  - dbRead (every Postgres read on the request path: feature-store fallback, candidates, video metadata,
//    the events route's home-region lookup; origin/db-retry.ts): 3 retries, 10/50/200 ms ±20%, 100 ms per try;
//  - dbWrite (the events route's insert and timeline append): 3 retries, 100/500/2000 ms ±30%, 5 s per try.
// Retries, delays and jitter are always the seed's. The per-try timeouts of the two fast rows can be
// loosened for a slow local box (RETRY_FEATURE_STORE_TRY_MS, RETRY_DB_READ_TRY_MS: origin/env.ts); unset,
// they are the seed's production values. The DB-write row is never overridden: the edge's events consumer
// sizes its wait for the origin from it (edge/origin-client.ts EVENTS_DELIVERY_RETRY).
//
// One table per isolate: origin/env.ts publishes it when it parses the worker's vars (once per isolate),
// and the call sites read it at call time. It is isolate state rather than a constructor argument because
// FeatureStore and the candidate functions are built in places that take no config.

export interface OriginRetry {
  featureStore: RetryPolicy;
  dbRead: RetryPolicy;
  dbWrite: RetryPolicy;
}

/** Per-try timeout overrides (ms); undefined = the seed's. */
export interface OriginRetryOverrides {
  featureStoreTryMs?: number;
  dbReadTryMs?: number;
}

/** The origin's rows with the given per-try overrides (ms). Throws RangeError for a non-positive timeout. */
export function originRetry(o: OriginRetryOverrides = {}): OriginRetry {
  return Object.freeze({
    featureStore: retryRow("featureStore", o.featureStoreTryMs),
    dbRead: retryRow("dbRead", o.dbReadTryMs),
    dbWrite: retryRow("dbWrite"),
  });
}

/** The seed's rows, unchanged: what production runs. */
export const PRODUCTION_ORIGIN_RETRY: OriginRetry = originRetry();

let active: OriginRetry = PRODUCTION_ORIGIN_RETRY;

/** The rows this isolate applies (production until origin/env.ts publishes the worker's overrides). */
export function isolateRetry(): OriginRetry {
  return active;
}

/** Sets the rows this isolate applies (origin/env.ts at config parse; tests). Returns the previous ones. */
export function useIsolateRetry(r: OriginRetry): OriginRetry {
  const prev = active;
  active = r;
  return prev;
}
