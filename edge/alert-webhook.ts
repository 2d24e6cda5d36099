import type { RetryPolicy } from "../shared/config.ts";
import type { Clock } from "../shared/clock.ts";
import type { AlertPayload, AlertResult } from "./incident.ts";
import { postJsonWebhook } from "./json-webhook.ts";

// Alert delivery: step 1 of the failover procedure, "page on-call" (issue 12 item 6). RegionHealth POSTs
// each alert's JSON body (edge/incident.ts AlertPayload) to ALERT_WEBHOOK_URL — a pager/chat integration
// or a relay in front of one. Failure semantics:
//  - every try has a 2 s timeout; 3 tries at most (500 ms, 2 s backoff ±20%), so a delivery ends within
//    about 9 s whatever the receiver does; it never throws;
//  - 2xx = delivered; 5xx, 408, 429, network errors and timeouts are retried; any other status is the
//    receiver refusing the body and is not retried (the POST itself: edge/json-webhook.ts);
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

export interface SendOptions {
  policy?: RetryPolicy;
  clock?: Clock;
  fetch?: typeof fetch;
}

export type Delivery = Pick<AlertResult, "outcome" | "attempts" | "http_status" | "error">;

/** POSTs `payload` as JSON to `url` with ALERT_RETRY (edge/json-webhook.ts); resolves with what happened, never rejects. */
export function sendAlert(url: string, payload: AlertPayload, opts: SendOptions = {}): Promise<Delivery> {
  return postJsonWebhook(url, payload, opts.policy ?? ALERT_RETRY, { name: "webhook", what: "the alert", userAgent: "fyp-edge-alerts", clock: opts.clock, fetch: opts.fetch });
}
