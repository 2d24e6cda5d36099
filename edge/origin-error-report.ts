import type { Region } from "../shared/regions.ts";
import type { EdgeBindings } from "./env.ts";
import type { RegionHealth } from "./region-health.ts";

// Request errors → RegionHealth (issue 12 item 6: recovery's "no errors" counts request errors, not only
// probe failures). The feed, video and events paths call reportOriginError when a call to a region's
// origin failed (5xx after retries, timeout, network error); RegionHealth restarts that region's
// error-free timer if it is recovering at 10% weight, and ignores the report otherwise.
//
// Cheap by construction, so an error storm cannot hammer the single global object:
//  - at most one report per region per REPORT_GAP_MS per isolate (the first error of a burst is the one
//    that matters: any error restarts the timer);
//  - the RPC is bounded by REPORT_TIMEOUT_MS and never throws; callers fire it via waitUntil (routes) or
//    await it (the queue consumer, which is off the request path).

export const REPORT_GAP_MS = 1000;
export const REPORT_TIMEOUT_MS = 500;

const lastReport = new Map<Region, number>();

type Reporter = Pick<RegionHealth, "reportRequestError">;

/**
 * Reports one failed edge → origin call for `region`. Resolves (never rejects) once the report is sent,
 * skipped (rate limit, no RegionHealth binding) or given up after REPORT_TIMEOUT_MS.
 */
export async function reportOriginError(env: EdgeBindings, region: Region, error: unknown, now = Date.now()): Promise<void> {
  const ns = env.REGION_HEALTH;
  if (!ns) return;
  const last = lastReport.get(region);
  if (last !== undefined && now - last < REPORT_GAP_MS && now >= last) return;
  lastReport.set(region, now);
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 200);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const stub = ns.get(ns.idFromName("global")) as unknown as Reporter;
    await Promise.race([
      stub.reportRequestError(region, now, message),
      new Promise((resolve) => (timer = setTimeout(resolve, REPORT_TIMEOUT_MS))),
    ]);
  } catch (e) {
    console.warn(`region-health: request error report for ${region} failed: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Forgets the per-isolate rate limit (tests). */
export function resetOriginErrorReports(): void {
  lastReport.clear();
}

/**
 * Whether an origin's answer (`status`, body `text`) is a fault of that region for reportOriginError: a
 * 5xx, except a 503 `writes_queued`. That one is the origin up and answering by design at level 3
 * (database degraded, origin/write-guard.ts): writes wait in the queue. Counted as an error, every queued
 * message's redelivery restarted a recovering region's error-free timer, so a region that came back at
 * level 3 with a backlog stayed at recovery weight until the backlog drained (CI: the chaos suite's
 * region-outage recovery ran past 90 s).
 */
export function isOriginFault(status: number, text: string): boolean {
  if (status < 500) return false;
  if (status !== 503) return true;
  try {
    return (JSON.parse(text) as { error?: { code?: unknown } })?.error?.code !== "writes_queued";
  } catch {
    return true;
  }
}
