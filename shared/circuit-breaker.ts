// Circuit breaker with resilience4j semantics (DESIGN.md §3, "Circuit breaker (ranking calls)").
// Written here: no dependency of this project has one, and the common npm breakers (opossum, cockatiel)
// have neither a slow-call rate nor N half-open trials judged as a group.
//
// resilience4j rules followed exactly (its CircuitBreakerMetrics / HalfOpenState):
//  - slow = duration > slowCallDurationThreshold, whatever the outcome (a slow failure is failed AND slow);
//  - no verdict until the window holds minimumNumberOfCalls (COUNT_BASED caps that at the window size);
//    then failure rate ≥ threshold OR slow-call rate ≥ threshold → OPEN;
//  - HALF_OPEN admits exactly permittedNumberOfCallsInHalfOpenState trials and rejects the rest; once
//    min(minimumNumberOfCalls, N) trials are recorded (all N with the ranking numbers) → OPEN if either
//    rate is at/over its threshold, else CLOSED with a fresh window;
//  - ignoreError: permission released, nothing recorded; recordError false: recorded as a success.
// Deliberate differences:
//  - OPEN → HALF_OPEN is lazy (workerd has no long-lived timers outside a request). With
//    automaticTransitionFromOpenToHalfOpenEnabled any look (state, metrics(), a call) after the wait
//    moves it, so /metrics shows half-open on time; without it only a call does (as in resilience4j).
//    maxWaitDurationInHalfOpenState is checked the same way.
//  - execute() drops the outcome of a call begun in an earlier state, so a straggler from CLOSED cannot
//    stand in for a half-open trial. Manual onSuccess/onError record into the current state (resilience4j).
//    Outcomes arriving while OPEN are dropped (resilience4j folds them into a window half-open discards).
//  - notPermittedCalls counts since construction/reset() (a Prometheus counter), not per state.

import { systemClock, type Clock } from "./clock.ts";
import { RANKING_BREAKER } from "./config.ts";

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
  maxWaitDurationInHalfOpenState: number; // ms; 0 = until the trials report (resilience4j default)
  automaticTransitionFromOpenToHalfOpenEnabled: boolean;
}

export interface StateTransition { name: string; from: BreakerState; to: BreakerState; atMs: number; reason: string }
export type TransitionListener = (t: StateTransition) => void;

export interface CircuitBreakerOptions extends Partial<CircuitBreakerConfig> {
  name?: string;
  clock?: Clock;
  /** Which errors count as failures (default: all). false → recorded as a success (resilience4j). */
  recordError?: (err: unknown) => boolean;
  /** Errors that are neither success nor failure (e.g. the caller's own cancellation). Default: none. */
  ignoreError?: (err: unknown) => boolean;
  onStateTransition?: TransitionListener;
}

export interface BreakerMetrics {
  state: BreakerState;
  /** Percent, or -1 while fewer than the minimum number of calls are buffered (resilience4j). */
  failureRate: number;
  slowCallRate: number;
  bufferedCalls: number;
  failedCalls: number;
  slowCalls: number;
  notPermittedCalls: number;
}

/** resilience4j's own defaults, for breakers the design does not specify. */
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
  automaticTransitionFromOpenToHalfOpenEnabled: false,
});

/**
 * The ML ranking breaker of DESIGN.md §3 (numbers live in shared/config.ts). The design does not name a
 * half-open time limit; 30 s (= the open wait) is chosen so a trial whose fetch never settles cannot hold
 * the breaker half-open, rejecting everything, forever.
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
  maxWaitDurationInHalfOpenState: RANKING_BREAKER.waitInOpenMs,
  automaticTransitionFromOpenToHalfOpenEnabled: true,
});

/** `fyp_breaker_state` gauge value: 0 closed, 1 open, 2 half-open (forced open reads open, disabled closed). */
export function breakerStateGauge(state: BreakerState): 0 | 1 | 2 {
  return state === "OPEN" || state === "FORCED_OPEN" ? 1 : state === "HALF_OPEN" ? 2 : 0;
}

export class CircuitOpenError extends Error {
  override readonly name = "CircuitOpenError";
  readonly breaker: string;
  readonly state: BreakerState;
  /** When a call may be permitted again: the rest of the open wait; 0 while half-open trials are in
   * flight (their verdict may come any moment); the open wait as a back-off hint when forced open. */
  readonly retryAfterMs: number;
  constructor(breaker: string, state: BreakerState, retryAfterMs: number) {
    super(`circuit breaker '${breaker}' is ${state}; call not permitted`);
    this.breaker = breaker;
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

interface Counts {
  calls: number;
  failed: number;
  slow: number;
}

/**
 * Ring of `size` buckets with running totals, O(1) per call. COUNT_BASED: one bucket per call (key = call
 * number), so the ring is the last N calls. TIME_BASED: one bucket per epoch second (key = second), as in
 * resilience4j's SlidingTimeWindowMetrics. Moving to a newer key empties the buckets it laps.
 */
class OutcomeWindow {
  readonly #byTime: boolean;
  readonly #calls: Uint32Array;
  readonly #failed: Uint32Array;
  readonly #slow: Uint32Array;
  readonly #c: Counts = { calls: 0, failed: 0, slow: 0 };
  #head: number; // newest key

  constructor(size: number, byTime: boolean, nowMs: number) {
    this.#byTime = byTime;
    this.#calls = new Uint32Array(size);
    this.#failed = new Uint32Array(size);
    this.#slow = new Uint32Array(size);
    this.#head = byTime ? Math.floor(nowMs / 1000) : -1;
  }

  record(failed: boolean, slow: boolean, nowMs: number): Counts {
    const i = this.#advance(this.#byTime ? Math.floor(nowMs / 1000) : this.#head + 1);
    this.#calls[i]++;
    this.#c.calls++;
    if (failed) {
      this.#failed[i]++;
      this.#c.failed++;
    }
    if (slow) {
      this.#slow[i]++;
      this.#c.slow++;
    }
    return { ...this.#c };
  }

  counts(nowMs: number): Counts {
    if (this.#byTime) this.#advance(Math.floor(nowMs / 1000));
    return { ...this.#c };
  }

  /** Makes `key` the newest bucket (a key older than the head — clock stepped back — reuses the head). */
  #advance(key: number): number {
    const n = this.#calls.length;
    for (let k = Math.max(this.#head + 1, key - n + 1); k <= key; k++) {
      const i = ((k % n) + n) % n;
      this.#c.calls -= this.#calls[i];
      this.#c.failed -= this.#failed[i];
      this.#c.slow -= this.#slow[i];
      this.#calls[i] = this.#failed[i] = this.#slow[i] = 0;
    }
    this.#head = Math.max(this.#head, key);
    return ((this.#head % n) + n) % n;
  }
}

function validate(c: CircuitBreakerConfig): void {
  const pct = (v: number) => v > 0 && v <= 100;
  if (!pct(c.failureRateThreshold) || !pct(c.slowCallRateThreshold)) throw new RangeError("rate thresholds must be in (0, 100]");
  for (const k of ["slidingWindowSize", "minimumNumberOfCalls", "permittedNumberOfCallsInHalfOpenState"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`${k} must be a positive integer`);
  }
  if (c.waitDurationInOpenState < 0 || c.slowCallDurationThreshold < 0 || c.maxWaitDurationInHalfOpenState < 0) {
    throw new RangeError("durations must be ≥ 0");
  }
}

export class CircuitBreaker {
  readonly name: string;
  readonly config: Readonly<CircuitBreakerConfig>;
  readonly #clock: Clock;
  readonly #recordError: (err: unknown) => boolean;
  readonly #ignoreError: (err: unknown) => boolean;
  readonly #listeners = new Set<TransitionListener>();
  #state: BreakerState = "CLOSED";
  #window: OutcomeWindow;
  #minCalls: number;
  #enteredAt: number;
  #halfOpenPermits = 0;
  /** Bumped on every transition so execute() can tell a straggler from a current call. */
  #epoch = 0;
  #notPermitted = 0;

  constructor(opts: CircuitBreakerOptions = {}) {
    const { name, clock, recordError, ignoreError, onStateTransition, ...cfg } = opts;
    this.config = Object.freeze({ ...RESILIENCE4J_DEFAULTS, ...cfg });
    validate(this.config);
    this.name = name ?? "breaker";
    this.#clock = clock ?? systemClock;
    this.#recordError = recordError ?? (() => true);
    this.#ignoreError = ignoreError ?? (() => false);
    if (onStateTransition) this.#listeners.add(onStateTransition);
    this.#enteredAt = this.#clock.now();
    [this.#window, this.#minCalls] = this.#closedWindow();
  }

  get state(): BreakerState {
    this.#checkTimers(false);
    return this.#state;
  }

  /** Subscribes to state transitions; returns the unsubscribe function. */
  onStateTransition(listener: TransitionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs fn if permitted, timing it with the clock; throws CircuitOpenError without calling fn if not. */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.acquirePermission();
    const epoch = this.#epoch;
    const start = this.#clock.now();
    let value: T;
    try {
      value = await fn(signal ?? new AbortController().signal);
    } catch (err) {
      if (epoch === this.#epoch) this.onError(this.#clock.now() - start, err);
      throw err;
    }
    if (epoch === this.#epoch) this.onSuccess(this.#clock.now() - start);
    return value;
  }

  /** Non-throwing permission check (resilience4j tryAcquirePermission); counts a refusal. */
  tryAcquirePermission(): boolean {
    this.#checkTimers(true);
    switch (this.#state) {
      case "CLOSED":
      case "DISABLED":
        return true;
      case "HALF_OPEN":
        if (this.#halfOpenPermits > 0) {
          this.#halfOpenPermits--;
          return true;
        }
    }
    this.#notPermitted++;
    return false;
  }

  /** Like tryAcquirePermission but throws CircuitOpenError carrying retryAfterMs. */
  acquirePermission(): void {
    if (this.tryAcquirePermission()) return;
    const now = this.#clock.now();
    const retryAfterMs =
      this.#state === "OPEN" ? Math.max(0, this.#enteredAt + this.config.waitDurationInOpenState - now)
      : this.#state === "HALF_OPEN" ? 0
      : this.config.waitDurationInOpenState;
    throw new CircuitOpenError(this.name, this.#state, retryAfterMs);
  }

  /** Gives back a permission acquired for a call that was never made (frees a half-open trial slot). */
  releasePermission(): void {
    if (this.#state === "HALF_OPEN") {
      this.#halfOpenPermits = Math.min(this.#halfOpenPermits + 1, this.config.permittedNumberOfCallsInHalfOpenState);
    }
  }

  onSuccess(durationMs: number): void {
    this.#record(false, durationMs);
  }

  onError(durationMs: number, err: unknown): void {
    if (this.#ignoreError(err)) return this.releasePermission();
    this.#record(this.#recordError(err), durationMs);
  }

  metrics(): BreakerMetrics {
    this.#checkTimers(false);
    const c = this.#window.counts(this.#clock.now());
    const evaluable = c.calls > 0 && c.calls >= this.#minCalls;
    return {
      state: this.#state,
      failureRate: evaluable ? (c.failed * 100) / c.calls : -1,
      slowCallRate: evaluable ? (c.slow * 100) / c.calls : -1,
      bufferedCalls: c.calls,
      failedCalls: c.failed,
      slowCalls: c.slow,
      notPermittedCalls: this.#notPermitted,
    };
  }

  /** Rejects every call until reset() (resilience4j FORCED_OPEN; e.g. an operator pulling ML out). */
  forceOpen(): void {
    this.#transition("FORCED_OPEN", "forced open");
  }

  /** Permits every call and records nothing until reset() (resilience4j DISABLED). */
  disable(): void {
    this.#transition("DISABLED", "disabled");
  }

  /** Back to CLOSED with an empty window and zeroed counters, from any state. */
  reset(): void {
    this.#notPermitted = 0;
    this.#transition("CLOSED", "reset");
  }

  #record(failed: boolean, durationMs: number): void {
    if (this.#state !== "CLOSED" && this.#state !== "HALF_OPEN") return;
    const now = this.#clock.now();
    const slow = Math.max(0, durationMs) > this.config.slowCallDurationThreshold;
    const c = this.#window.record(failed, slow, now);
    if (c.calls < this.#minCalls) return;
    const failureRate = (c.failed * 100) / c.calls;
    const slowRate = (c.slow * 100) / c.calls;
    const rates = `failure rate ${failureRate.toFixed(1)}%, slow-call rate ${slowRate.toFixed(1)}% over ${c.calls} calls`;
    const exceeded = failureRate >= this.config.failureRateThreshold || slowRate >= this.config.slowCallRateThreshold;
    if (exceeded) this.#transition("OPEN", rates);
    else if (this.#state === "HALF_OPEN") this.#transition("CLOSED", `trials healthy: ${rates}`);
  }

  /** The lazy stand-in for resilience4j's scheduler: open wait and half-open time limit. */
  #checkTimers(callAttempt: boolean): void {
    const elapsed = this.#clock.now() - this.#enteredAt;
    if (this.#state === "OPEN" && elapsed >= this.config.waitDurationInOpenState) {
      if (callAttempt || this.config.automaticTransitionFromOpenToHalfOpenEnabled) {
        this.#transition("HALF_OPEN", `open for ${this.config.waitDurationInOpenState} ms`);
      }
    } else if (this.#state === "HALF_OPEN" && this.config.maxWaitDurationInHalfOpenState > 0 && elapsed >= this.config.maxWaitDurationInHalfOpenState) {
      this.#transition("OPEN", `half-open trials unfinished after ${this.config.maxWaitDurationInHalfOpenState} ms`);
    }
  }

  #closedWindow(): [OutcomeWindow, number] {
    const { slidingWindowType: type, slidingWindowSize: size, minimumNumberOfCalls: min } = this.config;
    const byTime = type === "TIME_BASED";
    return [new OutcomeWindow(size, byTime, this.#clock.now()), byTime ? min : Math.min(min, size)];
  }

  #transition(to: BreakerState, reason: string): void {
    const from = this.#state;
    const now = this.#clock.now();
    this.#state = to;
    this.#enteredAt = now;
    this.#epoch++;
    if (to === "HALF_OPEN") {
      const n = this.config.permittedNumberOfCallsInHalfOpenState;
      this.#window = new OutcomeWindow(n, false, now);
      this.#minCalls = Math.min(this.config.minimumNumberOfCalls, n);
      this.#halfOpenPermits = n;
    } else if (to !== "OPEN") {
      // OPEN keeps the window that tripped it so metrics() shows why; every other state starts fresh.
      [this.#window, this.#minCalls] = this.#closedWindow();
    }
    if (from === to) return;
    for (const l of this.#listeners) {
      try {
        l({ name: this.name, from, to, atMs: now, reason });
      } catch {
        // A broken metrics/log listener must never break the call path.
      }
    }
  }
}
