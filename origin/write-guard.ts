import type { Context } from "hono";
import { levelPolicy } from "../shared/degradation.ts";
import { ApiError } from "../shared/errors.ts";
import { FORCED_LEVEL_HEADER, parseForcedLevelHeader } from "../shared/forced-level-header.ts";
import type { AppEnv, RequestDeps } from "./context.ts";

// "Writes queued" (DESIGN §3 level 3): while this origin's level policy does not allow writes (the database
// is degraded — slow, or down), a write route refuses with a retryable 503 before it touches Postgres. The
// caller is the edge's queue consumer, which retries a 5xx later with a growing delay (edge/events-
// consumer.ts), so the events stay queued and land, exactly once by their idempotency keys, after recovery;
// nothing is written into a database that is already over its latency bound.

/** Seconds a refused writer is asked to wait: the edge's region-health probe interval (10 s). */
export const WRITES_QUEUED_RETRY_AFTER_S = 10;

/**
 * Throws ApiError 503 `writes_queued` with `retry-after` when the level policy of this request (the
 * origin's signals, or the admin-forced level the edge sends in x-fyp-forced-level, else this isolate's
 * own forced level) says writes are not allowed; returns otherwise.
 */
export function assertWritesAllowed(c: Context<AppEnv>, d: RequestDeps): void {
  const report = d.signals.level(parseForcedLevelHeader(c.req.header(FORCED_LEVEL_HEADER)));
  if (levelPolicy(report.level).writesAllowed) return;
  throw new ApiError(503, "writes_queued", `${d.cfg.REGION} is at level ${report.level} (${levelPolicy(report.level).description}): writes wait in the queue`,
    undefined, { "retry-after": String(WRITES_QUEUED_RETRY_AFTER_S) });
}
