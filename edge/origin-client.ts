import { RETRY, type RetryPolicy } from "../shared/config.ts";
import type { Region } from "../shared/regions.ts";
import { retryPolicy } from "../shared/resilience-policy.ts";
import { worstCaseMs } from "../shared/retry.ts";
import type { EdgeConfig } from "./env.ts";

// Edge → regional origin calls with the seed's "CDN origin" policy (shared/retry.ts): per-try timeout,
// jittered backoff, retries only for network errors/timeouts and 502/503/504 (a 4xx is the caller's
// answer, not a fault).
export class OriginUnavailable extends Error {}
class RetryableStatus extends Error {}

/** Statuses retried by default: the origin (or the platform in front of it) could not answer now. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * The longest the origin's POST /internal/v1/events can take for one batch under the seed's rows
 * (origin/events-routes.ts): the home-region lookup under the DB read row, then the insert and the timeline
 * append under the DB write row, each at its worst case (every try timing out, every backoff jittered
 * high): 712 ms + 2 × 23,380 ms = 47,472 ms.
 */
export const ORIGIN_EVENTS_WORST_CASE_MS = worstCaseMs(RETRY.dbRead) + 2 * worstCaseMs(RETRY.dbWrite);

/**
 * The events consumer's call to its home-region origin (issue 12 item 5): the CDN origin row's retries
 * and backoff (2 retries, 100/500 ms ±20%), but one try lasts as long as the origin may keep retrying
 * its DB writes, ORIGIN_EVENTS_WORST_CASE_MS, plus the CDN row's own 2 s per try for the rest of the
 * request (49,472 ms). With the CDN row's 2 s the consumer gave up on a write the origin was still
 * retrying, and the queue redelivered it on top. Derived from the production rows; an origin whose
 * RETRY_DB_READ_TRY_MS is loosened locally stays within the 2 s margin up to a 500 ms read try.
 */
export const EVENTS_DELIVERY_RETRY: RetryPolicy = Object.freeze({
  ...RETRY.cdnOrigin,
  perTryTimeoutMs: Math.ceil(ORIGIN_EVENTS_WORST_CASE_MS + RETRY.cdnOrigin.perTryTimeoutMs),
});

/**
 * Calls `pathAndQuery` on `region`'s origin with the service secret under `policy` (default the CDN
 * origin row): each try a fetch aborted at the try's timeout; network errors, timeouts and
 * `retryStatuses` (default 502/503/504) are retried, any other response is returned as-is. Throws
 * OriginUnavailable (message: "timeout" or the last error) when every try failed.
 */
export async function callOrigin(
  cfg: EdgeConfig, region: Region, pathAndQuery: string, init: RequestInit = {}, policy: RetryPolicy = RETRY.cdnOrigin,
  retryStatuses: ReadonlySet<number> = RETRYABLE_STATUSES,
): Promise<Response> {
  const url = `${cfg.origins[region]}${pathAndQuery}`;
  const headers = new Headers(init.headers);
  headers.set("x-internal-secret", cfg.INTERNAL_SECRET);
  try {
    return await retryPolicy(policy).execute(async (signal) => {
      const res = await fetch(url, { ...init, headers, signal });
      if (retryStatuses.has(res.status)) {
        await res.body?.cancel();
        throw new RetryableStatus(`status ${res.status}`);
      }
      return res;
    });
  } catch (e) {
    const cause = (e as Error).cause ?? e;
    const why = cause instanceof Error ? (cause.name === "TryTimeoutError" || cause.name === "TimeoutError" ? "timeout" : cause.message) : String(cause);
    throw new OriginUnavailable(`origin ${region} unavailable: ${why}`);
  }
}

/** Origin response headers an edge payload keeps: content type, server-timing, and retry-after (429/503). */
export function relayedHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = { "content-type": res.headers.get("content-type") ?? "application/json" };
  for (const h of ["server-timing", "retry-after"]) {
    const v = res.headers.get(h);
    if (v) out[h] = v;
  }
  return out;
}
