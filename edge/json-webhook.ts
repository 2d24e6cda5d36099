import type { Clock } from "../shared/clock.ts";
import type { RetryPolicy } from "../shared/config.ts";
import { retryPolicy } from "../shared/resilience-policy.ts";
import { RetryExhaustedError } from "../shared/retry.ts";

// One JSON POST to an operator-configured webhook under a retry row: the delivery shared by the alert
// webhook (edge/alert-webhook.ts, failover step 1 "page on-call") and the capacity-step webhook
// (edge/scaler.ts, failover steps 4 and 8). Failure semantics:
//  - every try is one fetch aborted at the row's per-try timeout; tries and backoff are the row's
//    (shared/resilience-policy.ts retryPolicy, DESIGN §3's ±jitter delays);
//  - 2xx = delivered; 5xx, 408, 429, network errors and timeouts are retried (the receiver could not
//    take it now); any other status is the receiver refusing the body and is not retried;
//  - it never throws: the outcome, the tries made, the last HTTP status and the last error (≤ 200
//    characters) are returned for the caller to record.

export interface WebhookDelivery {
  outcome: "delivered" | "failed";
  /** Tries made (fetches started). */
  attempts: number;
  /** Status of the last answer; null when no try got one. */
  http_status: number | null;
  /** The last try's error (a timeout reads "try N timed out after M ms"); null when delivered. */
  error: string | null;
}

export interface JsonWebhookOptions {
  /** Names the receiver in errors: "<name> answered 503", "<name> refused <what>: 400". Default "webhook". */
  name?: string;
  /** What was sent, for the refusal message. Default "the body". */
  what?: string;
  /** user-agent header of the POST. Default "fyp-edge". */
  userAgent?: string;
  clock?: Clock;
  /** [0, 1) source of the backoff jitter; injected in tests. */
  random?: () => number;
  fetch?: typeof fetch;
}

class RetryableStatus extends Error {}
class RefusedStatus extends Error {}

/** Statuses worth another try: the receiver or its platform could not take the body now. */
export const isRetryableWebhookStatus = (status: number): boolean => status >= 500 || status === 408 || status === 429;

/** POSTs `body` as JSON to `url` under `policy` (see the header); resolves with what happened, never rejects. */
export async function postJsonWebhook(url: string, body: unknown, policy: RetryPolicy, opts: JsonWebhookOptions = {}): Promise<WebhookDelivery> {
  const doFetch = opts.fetch ?? fetch;
  const name = opts.name ?? "webhook";
  const json = JSON.stringify(body);
  const headers = { "content-type": "application/json", "user-agent": opts.userAgent ?? "fyp-edge" };
  let attempts = 0;
  let httpStatus: number | null = null;
  try {
    await retryPolicy(policy, { clock: opts.clock, random: opts.random, retryable: (e) => !(e instanceof RefusedStatus) }).execute(async (signal) => {
      attempts++;
      const res = await doFetch(url, { method: "POST", body: json, signal, headers });
      httpStatus = res.status;
      await res.body?.cancel();
      if (res.ok) return;
      if (isRetryableWebhookStatus(res.status)) throw new RetryableStatus(`${name} answered ${res.status}`);
      throw new RefusedStatus(`${name} refused ${opts.what ?? "the body"}: ${res.status}`);
    });
    return { outcome: "delivered", attempts, http_status: httpStatus, error: null };
  } catch (e) {
    const last = e instanceof RetryExhaustedError ? e.lastError : e;
    return { outcome: "failed", attempts, http_status: httpStatus, error: (last instanceof Error ? last.message : String(last)).slice(0, 200) };
  }
}
