import { RETRY, type RetryPolicy } from "../shared/config.ts";
import type { Region } from "../shared/regions.ts";
import { retry } from "../shared/retry.ts";
import type { EdgeConfig } from "./env.ts";

// Edge → regional origin calls with the seed's "CDN origin" policy (shared/retry.ts): per-try timeout,
// jittered backoff, retries only for network errors/timeouts and 502/503/504 (a 4xx is the caller's
// answer, not a fault).
export class OriginUnavailable extends Error {}
class RetryableStatus extends Error {}

export async function callOrigin(cfg: EdgeConfig, region: Region, pathAndQuery: string, init: RequestInit = {}, policy: RetryPolicy = RETRY.cdnOrigin): Promise<Response> {
  const url = `${cfg.origins[region]}${pathAndQuery}`;
  const headers = new Headers(init.headers);
  headers.set("x-internal-secret", cfg.INTERNAL_SECRET);
  try {
    return await retry(async (_attempt, signal) => {
      const res = await fetch(url, { ...init, headers, signal });
      if (res.status === 502 || res.status === 503 || res.status === 504) {
        await res.body?.cancel();
        throw new RetryableStatus(`status ${res.status}`);
      }
      return res;
    }, policy);
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
