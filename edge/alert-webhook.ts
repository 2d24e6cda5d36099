import type { RetryPolicy } from "../shared/config.ts";
import { retry, RetryExhaustedError } from "../shared/retry.ts";
import type { Clock } from "../shared/clock.ts";
import type { AlertPayload, AlertResult } from "./incident.ts";

// Alert delivery: step 1 of the failover procedure, "page on-call" (issue 12 item 6). RegionHealth POSTs
// each alert's JSON body (edge/incident.ts AlertPayload) to ALERT_WEBHOOK_URL — a pager/chat integration
// or a relay in front of one. Failure semantics:
//  - every try has a 2 s timeout; 3 tries at most (500 ms, 2 s backoff ±20%), so a delivery ends within
//    about 9 s whatever the receiver does; it never throws;
//  - 2xx = delivered; 5xx, 408, 429, network errors and timeouts are retried; any other status is the
//    receiver refusing the body and is not retried;
//  - the caller (the Durable Object) runs it off the probe loop and records the outcome on the incident;
//  - no URL configured = alerts are only recorded (outcome "disabled").

/** 2 retries (3 tries), 500/2000 ms ±20%, 2 s per try. */
export const ALERT_RETRY: RetryPolicy = { retries: 2, delaysMs: [500, 2000], jitter: 0.2, perTryTimeoutMs: 2000 };

/**
 * ALERT_WEBHOOK_URL from the worker's vars: `{url: null}` when empty or unset (alerting off), `{error}`
 * when set but not an absolute http(s) URL (alerts are then recorded as failed with that error, so a
 * typo is visible on /v1/status instead of silently paging no one).
 */
export function alertWebhookUrl(env: { ALERT_WEBHOOK_URL?: string }): { url: string | null; error: string | null } {
  const raw = (env.ALERT_WEBHOOK_URL ?? "").trim();
  if (raw === "") return { url: null, error: null };
  try {
    const u = new URL(raw);
    if (u.protocol === "http:" || u.protocol === "https:") return { url: u.toString(), error: null };
  } catch {
    /* fall through */
  }
  return { url: null, error: "ALERT_WEBHOOK_URL is not an absolute http(s) URL" };
}

class RetryableStatus extends Error {}
class RejectedStatus extends Error {}

export interface SendOptions {
  policy?: RetryPolicy;
  clock?: Clock;
  fetch?: typeof fetch;
}

export type Delivery = Pick<AlertResult, "outcome" | "attempts" | "http_status" | "error">;

/** POSTs `payload` as JSON to `url` with ALERT_RETRY; resolves with what happened, never rejects. */
export async function sendAlert(url: string, payload: AlertPayload, opts: SendOptions = {}): Promise<Delivery> {
  const doFetch = opts.fetch ?? fetch;
  const body = JSON.stringify(payload);
  let attempts = 0;
  let httpStatus: number | null = null;
  try {
    await retry(
      async (_attempt, signal) => {
        attempts++;
        const res = await doFetch(url, {
          method: "POST", body, signal, headers: { "content-type": "application/json", "user-agent": "fyp-edge-alerts" },
        });
        httpStatus = res.status;
        await res.body?.cancel();
        if (res.ok) return;
        if (res.status >= 500 || res.status === 408 || res.status === 429) throw new RetryableStatus(`webhook answered ${res.status}`);
        throw new RejectedStatus(`webhook refused the alert: ${res.status}`);
      },
      opts.policy ?? ALERT_RETRY,
      { clock: opts.clock, retryable: (e) => !(e instanceof RejectedStatus) },
    );
    return { outcome: "delivered", attempts, http_status: httpStatus, error: null };
  } catch (e) {
    const last = e instanceof RetryExhaustedError ? e.lastError : e;
    const error = last instanceof Error ? last.message : String(last);
    return { outcome: "failed", attempts, http_status: httpStatus, error: error.slice(0, 200) };
  }
}
