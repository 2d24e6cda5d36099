import type { RetryPolicy } from "../shared/config.ts";
import type { Clock } from "../shared/clock.ts";
import type { Region } from "../shared/regions.ts";
import { postJsonWebhook } from "./json-webhook.ts";

// The capacity steps of the failover procedure (DESIGN §3 level 4): when a region leaves rotation, the
// regions still serving get ×1.5 capacity (step 4); when it is back at full weight they are scaled back
// (step 8). What a step *is* is decided by edge/scaler-steps.ts (pure); this file is the pluggable actuator:
//  - WebhookScaler: POSTs each step as JSON to SCALER_WEBHOOK_URL — in production the receiver patches the
//    region's HPA (minReplicas × factor) through the Kubernetes API, or calls the provider's autoscaler.
//    Every try has a timeout; 5xx/408/429/network errors are retried; it never throws.
//  - RecordingScaler (the local default, no URL set): only records the step, shown in /v1/status.
// Either way the step and its outcome are recorded (edge/scaler-steps.ts).

export interface CapacityStep {
  /** When the step was decided (ms since the epoch). */
  at: number;
  /** The region whose capacity changes (one still in rotation). */
  region: Region;
  /** Target capacity, × the region's normal size: 1.5 (step 4) or 1 (step 8). */
  factor: number;
  /** The regions out of rotation (or not yet at full weight) that call for it; empty when scaling back. */
  because: Region[];
  step: "scale_up" | "scale_back";
}

export interface ScaleResult {
  outcome: "recorded" | "delivered" | "failed";
  attempts: number;
  http_status: number | null;
  error: string | null;
}

/** Applies one capacity step; resolves with what happened and never rejects. */
export interface Scaler {
  readonly kind: "webhook" | "recording";
  apply(step: CapacityStep): Promise<ScaleResult>;
}

/** Local default: the step is recorded (edge/scaler-steps.ts) and nothing else happens. */
export class RecordingScaler implements Scaler {
  readonly kind = "recording" as const;
  async apply(): Promise<ScaleResult> {
    return { outcome: "recorded", attempts: 0, http_status: null, error: null };
  }
}

/** 2 retries (3 tries), 1/5 s ±50% (the seed's external-API delays, shortened to 2 retries), 5 s per try. */
export const SCALER_RETRY: RetryPolicy = { retries: 2, delaysMs: [1000, 5000], jitter: 0.5, perTryTimeoutMs: 5000 };

export class WebhookScaler implements Scaler {
  readonly kind = "webhook" as const;
  readonly #url: string;
  readonly #opts: { policy: RetryPolicy; clock?: Clock; fetch: typeof fetch };

  constructor(url: string, opts: { policy?: RetryPolicy; clock?: Clock; fetch?: typeof fetch } = {}) {
    this.#url = url;
    this.#opts = { policy: opts.policy ?? SCALER_RETRY, clock: opts.clock, fetch: opts.fetch ?? ((...a) => fetch(...a)) };
  }

  /** POST `{at, region, factor, because, step}` (edge/json-webhook.ts); 2xx = delivered, another 4xx = failed at once (not retried). */
  apply(step: CapacityStep): Promise<ScaleResult> {
    return postJsonWebhook(this.#url, step, this.#opts.policy, {
      name: "scaler webhook", what: "the step", userAgent: "fyp-edge-scaler", clock: this.#opts.clock, fetch: this.#opts.fetch,
    });
  }
}

/**
 * The scaler SCALER_WEBHOOK_URL asks for: a WebhookScaler for an absolute http(s) URL, a RecordingScaler
 * when it is unset or empty. A malformed URL is a RecordingScaler plus the error, so /v1/status shows it.
 */
export function scalerFor(env: { SCALER_WEBHOOK_URL?: string }): { scaler: Scaler; error: string | null } {
  const raw = (env.SCALER_WEBHOOK_URL ?? "").trim();
  if (raw === "") return { scaler: new RecordingScaler(), error: null };
  try {
    const u = new URL(raw);
    if (u.protocol === "http:" || u.protocol === "https:") return { scaler: new WebhookScaler(u.toString()), error: null };
  } catch {
    /* fall through */
  }
  return { scaler: new RecordingScaler(), error: "SCALER_WEBHOOK_URL is not an absolute http(s) URL" };
}
