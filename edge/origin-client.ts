import { RETRY, type RetryPolicy } from "../shared/config.ts";
import type { Region } from "../shared/regions.ts";
import type { EdgeConfig } from "./env.ts";

// Edge → regional origin calls with the seed's "CDN origin" policy: per-try timeout, jittered backoff,
// retries only for network errors/timeouts and 502/503/504 (a 4xx is the caller's answer, not a fault).
export class OriginUnavailable extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export function backoffMs(p: RetryPolicy, attempt: number): number {
  const base = p.delaysMs[Math.min(attempt, p.delaysMs.length - 1)];
  return Math.max(0, base * (1 + p.jitter * (2 * Math.random() - 1)));
}

export async function callOrigin(cfg: EdgeConfig, region: Region, pathAndQuery: string, init: RequestInit = {}, policy: RetryPolicy = RETRY.cdnOrigin): Promise<Response> {
  const url = `${cfg.origins[region]}${pathAndQuery}`;
  const headers = new Headers(init.headers);
  headers.set("x-internal-secret", cfg.INTERNAL_SECRET);
  let lastErr = "";
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await sleep(backoffMs(policy, attempt - 1));
    try {
      const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(policy.perTryTimeoutMs) });
      if (res.status === 502 || res.status === 503 || res.status === 504) {
        lastErr = `status ${res.status}`;
        await res.body?.cancel();
        continue;
      }
      return res;
    } catch (e) {
      lastErr = (e as Error).name === "TimeoutError" ? "timeout" : (e as Error).message;
    }
  }
  throw new OriginUnavailable(`origin ${region} unavailable: ${lastErr}`);
}
