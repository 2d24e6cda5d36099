// Configuration of the circuit breaker (shared/circuit-breaker.ts): resilience4j's settings under their
// resilience4j names and units (ms for durations), its defaults, and the ranking breaker's values from
// DESIGN.md §3 (shared/config.ts RANKING_BREAKER).

import { RANKING_BREAKER, RETRY } from "./config.ts";

export type BreakerState = "CLOSED" | "OPEN" | "HALF_OPEN" | "FORCED_OPEN" | "DISABLED";
export type SlidingWindowType = "COUNT_BASED" | "TIME_BASED";

export interface CircuitBreakerConfig {
  /** COUNT_BASED: the last N calls. TIME_BASED: the calls of the last N seconds (1 s buckets). */
  slidingWindowType: SlidingWindowType;
  slidingWindowSize: number;
  minimumNumberOfCalls: number;
  failureRateThreshold: number; // percent
  slowCallRateThreshold: number; // percent
  slowCallDurationThreshold: number; // ms; strictly slower is slow
  waitDurationInOpenState: number; // ms
  permittedNumberOfCallsInHalfOpenState: number;
  /** ms; 0 = wait for the trials however long they take (resilience4j default). Opt-in: when set, a
   * half-open state older than this goes back to OPEN. */
  maxWaitDurationInHalfOpenState: number;
  /** ms a half-open trial permit waits for its call to report before it is handed out again (0 = forever,
   * as in resilience4j). Not a resilience4j setting: see shared/half-open-permits.ts. */
  halfOpenPermitLeaseMs: number;
  automaticTransitionFromOpenToHalfOpenEnabled: boolean;
}

/** resilience4j's own defaults, for breakers the design does not specify (plus a permit lease, which
 * resilience4j does not have: 60 s, its default slow-call threshold, so only a call that is slow by its
 * own standard can outlive its lease). */
export const RESILIENCE4J_DEFAULTS: Readonly<CircuitBreakerConfig> = Object.freeze({
  slidingWindowType: "COUNT_BASED",
  slidingWindowSize: 100,
  minimumNumberOfCalls: 100,
  failureRateThreshold: 50,
  slowCallRateThreshold: 100,
  slowCallDurationThreshold: 60_000,
  waitDurationInOpenState: 60_000,
  permittedNumberOfCallsInHalfOpenState: 10,
  maxWaitDurationInHalfOpenState: 0,
  halfOpenPermitLeaseMs: 60_000,
  automaticTransitionFromOpenToHalfOpenEnabled: false,
});

/**
 * The ML ranking breaker of DESIGN.md §3 (numbers live in shared/config.ts). The design names no half-open
 * time limit, so there is none (resilience4j's default): a half-open limit shorter than the time the trials
 * take to arrive sends a healed breaker back to OPEN at low traffic, forever (issue 12: one read every 8 s,
 * 4 of 4 trials healthy, back to OPEN at 30 s). What the limit used to guard against, a trial whose fetch
 * never settles, is handled by the permit lease instead: 2 s, the edge's per-try timeout for origin
 * fetches (RETRY.cdnOrigin), after which the edge has given up on the request holding the permit.
 */
export const RANKING_BREAKER_DEFAULTS: Readonly<CircuitBreakerConfig> = Object.freeze({
  slidingWindowType: "COUNT_BASED",
  slidingWindowSize: RANKING_BREAKER.windowSize,
  minimumNumberOfCalls: RANKING_BREAKER.minimumCalls,
  failureRateThreshold: RANKING_BREAKER.failureRateThreshold,
  slowCallRateThreshold: RANKING_BREAKER.slowCallRateThreshold,
  slowCallDurationThreshold: RANKING_BREAKER.slowCallDurationMs,
  waitDurationInOpenState: RANKING_BREAKER.waitInOpenMs,
  permittedNumberOfCallsInHalfOpenState: RANKING_BREAKER.permittedHalfOpenCalls,
  maxWaitDurationInHalfOpenState: 0,
  halfOpenPermitLeaseMs: RETRY.cdnOrigin.perTryTimeoutMs,
  automaticTransitionFromOpenToHalfOpenEnabled: true,
});

/** Throws RangeError for a configuration resilience4j would reject (rates in (0, 100], counts ≥ 1, durations ≥ 0). */
export function validateBreakerConfig(c: CircuitBreakerConfig): void {
  const pct = (v: number) => v > 0 && v <= 100;
  if (!pct(c.failureRateThreshold) || !pct(c.slowCallRateThreshold)) throw new RangeError("rate thresholds must be in (0, 100]");
  for (const k of ["slidingWindowSize", "minimumNumberOfCalls", "permittedNumberOfCallsInHalfOpenState"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`${k} must be a positive integer`);
  }
  if (c.waitDurationInOpenState < 0 || c.slowCallDurationThreshold < 0 || c.maxWaitDurationInHalfOpenState < 0 || !(c.halfOpenPermitLeaseMs >= 0)) {
    throw new RangeError("durations must be ≥ 0");
  }
}
