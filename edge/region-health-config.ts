import { z } from "zod";
import { ApiError, fromZodError } from "../shared/errors.ts";

// RegionHealth timings. Defaults are the design's values (DESIGN.md §3 "Regions"); every one can be set
// from the worker's vars (tests shrink them) and overridden at runtime through RegionHealth.configure().

export interface HealthTimings {
  /** How often each origin is probed. */
  probeIntervalMs: number;
  /** A probe that has not answered by then counts as a failure. */
  probeTimeoutMs: number;
  /** Consecutive failed probes that start the anti-flap wait. */
  failuresToRemove: number;
  /** How long a region must keep failing after reaching the threshold before it is removed. */
  antiFlapMs: number;
  /** Weight of a region that came back, until it has been clean for `fullWeightAfterMs`. */
  recoveryWeight: number;
  /** Error-free time at recovery weight before a region gets its full weight back. */
  fullWeightAfterMs: number;
}

export const DEFAULT_TIMINGS: HealthTimings = {
  probeIntervalMs: 10_000,
  probeTimeoutMs: 2_000,
  failuresToRemove: 3,
  antiFlapMs: 30_000,
  recoveryWeight: 0.1,
  fullWeightAfterMs: 300_000,
};

/** Env var names, one per timing (all optional strings, as wrangler vars are). */
export const TIMING_ENV_VARS: Record<keyof HealthTimings, string> = {
  probeIntervalMs: "HEALTH_PROBE_INTERVAL_MS",
  probeTimeoutMs: "HEALTH_PROBE_TIMEOUT_MS",
  failuresToRemove: "HEALTH_FAILURES_TO_REMOVE",
  antiFlapMs: "HEALTH_ANTI_FLAP_MS",
  recoveryWeight: "HEALTH_RECOVERY_WEIGHT",
  fullWeightAfterMs: "HEALTH_FULL_WEIGHT_AFTER_MS",
};

// Bounds keep a typo from producing a busy-looping alarm (interval 0) or a region that can never be
// removed (threshold 0) or re-added (weight 0). Intervals may be tiny because tests shrink them.
const BOUNDS: Record<keyof HealthTimings, { min: number; max: number; integer: boolean }> = {
  probeIntervalMs: { min: 10, max: 3_600_000, integer: true },
  probeTimeoutMs: { min: 1, max: 60_000, integer: true },
  failuresToRemove: { min: 1, max: 1_000, integer: true },
  antiFlapMs: { min: 0, max: 3_600_000, integer: true },
  recoveryWeight: { min: 0.001, max: 1, integer: false },
  fullWeightAfterMs: { min: 0, max: 86_400_000, integer: true },
};

const KEYS = Object.keys(DEFAULT_TIMINGS) as (keyof HealthTimings)[];

function field(key: keyof HealthTimings) {
  const b = BOUNDS[key];
  const n = z.number().min(b.min).max(b.max);
  return b.integer ? n.int() : n;
}

/** A runtime override (admin API, RegionHealth.configure): any subset of the timings, nothing else. */
export const TimingOverridesSchema = z
  .object({
    probeIntervalMs: field("probeIntervalMs").optional(),
    probeTimeoutMs: field("probeTimeoutMs").optional(),
    failuresToRemove: field("failuresToRemove").optional(),
    antiFlapMs: field("antiFlapMs").optional(),
    recoveryWeight: field("recoveryWeight").optional(),
    fullWeightAfterMs: field("fullWeightAfterMs").optional(),
  })
  .strict();

const valid = (key: keyof HealthTimings, v: unknown): v is number => TimingOverridesSchema.shape[key].unwrap().safeParse(v).success;

/**
 * Timings from the worker's vars. A missing or malformed var falls back to its default (a bad value must
 * not take failover down with it); the malformed names are returned so the caller can log them.
 */
export function timingsFromEnv(env: object): { timings: HealthTimings; invalid: string[] } {
  const vars = env as Record<string, unknown>;
  const timings = { ...DEFAULT_TIMINGS };
  const invalid: string[] = [];
  for (const key of KEYS) {
    const raw = vars[TIMING_ENV_VARS[key]];
    if (raw === undefined || raw === null || raw === "") continue;
    const n = typeof raw === "number" ? raw : Number(String(raw).trim());
    if (valid(key, n)) timings[key] = n;
    else invalid.push(TIMING_ENV_VARS[key]);
  }
  return { timings, invalid };
}

/** Validates a runtime override; throws the 400 ApiError naming the bad field. */
export function parseTimingOverrides(partial: unknown): Partial<HealthTimings> {
  const p = TimingOverridesSchema.safeParse(partial);
  if (!p.success) {
    // The field also goes into the message: over RPC (RegionHealth.configure) only the message survives.
    const e = fromZodError(p.error);
    throw new ApiError(400, e.code, e.field ? `${e.field}: ${e.message}` : e.message, e.field);
  }
  return p.data;
}
