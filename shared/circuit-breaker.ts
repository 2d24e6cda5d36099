// Circuit breaker with resilience4j semantics (DESIGN.md §3, "Circuit breaker (ranking calls)").
// Written here: no dependency of this project has one, and the common npm breakers (opossum, cockatiel)
// have neither a slow-call rate nor N half-open trials judged as a group.
//
// resilience4j rules followed exactly (its CircuitBreakerStateMachine / CircuitBreakerMetrics):
//  - slow = duration > slowCallDurationThreshold, whatever the outcome (a slow failure is failed AND slow);
//  - no verdict until the window holds minimumNumberOfCalls (COUNT_BASED caps that at the window size);
//    then failure rate ≥ threshold OR slow-call rate ≥ threshold → OPEN. However long the calls take to
//    arrive: at one call every 8 s the 100-call window needs 13 minutes before it can judge anything;
//  - HALF_OPEN admits exactly permittedNumberOfCallsInHalfOpenState trials and rejects the rest; once
//    min(minimumNumberOfCalls, N) trials are recorded (all N with the ranking numbers) → OPEN if either
//    rate is at/over its threshold, else CLOSED. Half-open has no time limit unless
//    maxWaitDurationInHalfOpenState is set (default 0): it waits for its trials at any traffic level;
//  - every transition to CLOSED starts an empty window (resilience4j's new ClosedState()), so a breaker
//    that just closed is judged only on calls made after it closed, never on the failures that opened it;
//  - ignoreError: permission released, nothing recorded; recordError false: recorded as a success.
// Deliberate differences:
//  - half-open permits are leases (shared/half-open-permits.ts, halfOpenPermitLeaseMs): a trial whose call
//    never reports (its request was cancelled) gives its permit back after the lease instead of holding it
//    forever; resilience4j has no such thing and can stay half-open rejecting everything (its issue #903);
//  - OPEN → HALF_OPEN is lazy (workerd has no long-lived timers outside a request). With
//    automaticTransitionFromOpenToHalfOpenEnabled any look (state, metrics(), a call) after the wait
//    moves it, so /metrics shows half-open on time; without it only a call does (as in resilience4j).
//    maxWaitDurationInHalfOpenState (opt-in) is checked the same way and, like resilience4j's default
//    transitionToStateAfterWaitDuration, goes back to OPEN;
//  - execute() drops the outcome of a call begun in an earlier state, so a straggler from CLOSED cannot
//    stand in for a half-open trial. Manual onSuccess/onError record into the current state (resilience4j).
//    Outcomes arriving while OPEN are dropped (resilience4j folds them into a window half-open discards).
//  - notPermittedCalls counts since construction/reset() (a Prometheus counter), not per state.

import { systemClock, type Clock } from "./clock.ts";
import { type BreakerState, type CircuitBreakerConfig, RESILIENCE4J_DEFAULTS, validateBreakerConfig } from "./circuit-breaker-config.ts";
import { HalfOpenPermits } from "./half-open-permits.ts";
import type { ResiliencePolicy } from "./resilience-policy.ts";
import { OutcomeWindow } from "./outcome-window.ts";

export {
  type BreakerState, type CircuitBreakerConfig, RANKING_BREAKER_DEFAULTS, RESILIENCE4J_DEFAULTS, type SlidingWindowType,
} from "./circuit-breaker-config.ts";

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
  /** HALF_OPEN: trials granted whose call has not reported and whose lease still runs; 0 otherwise. */
  trialsInFlight: number;
}

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

/** A ResiliencePolicy (shared/resilience-policy.ts): compose it with wrap(retryPolicy(row), breaker). */
export class CircuitBreaker implements ResiliencePolicy {
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
  /** The trial permits while HALF_OPEN, null in every other state. */
  #permits: HalfOpenPermits | null = null;
  /** Bumped on every transition so execute() can tell a straggler from a current call. */
  #epoch = 0;
  #notPermitted = 0;

  constructor(opts: CircuitBreakerOptions = {}) {
    const { name, clock, recordError, ignoreError, onStateTransition, ...cfg } = opts;
    this.config = Object.freeze({ ...RESILIENCE4J_DEFAULTS, ...cfg });
    validateBreakerConfig(this.config);
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

  /**
   * Runs fn if permitted, timing it with the clock; throws CircuitOpenError without calling fn if not.
   * fn's value or error passes through unchanged. Its outcome is recorded only if the breaker is still in
   * the state (episode) the call began in; a half-open trial's lease ends when it reports.
   */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const lease = this.#acquire();
    const epoch = this.#epoch;
    const start = this.#clock.now();
    let value: T;
    try {
      value = await fn(signal ?? new AbortController().signal);
    } catch (err) {
      if (epoch === this.#epoch) this.#outcome(this.#clock.now() - start, false, err, lease);
      throw err;
    }
    if (epoch === this.#epoch) this.#outcome(this.#clock.now() - start, true, undefined, lease);
    return value;
  }

  /** Non-throwing permission check (resilience4j tryAcquirePermission); counts a refusal. */
  tryAcquirePermission(): boolean {
    return this.#acquireLease() !== null;
  }

  /** Like tryAcquirePermission but throws CircuitOpenError carrying retryAfterMs. */
  acquirePermission(): void {
    this.#acquire();
  }

  /** Gives back a permission acquired for a call that was never made (frees a half-open trial slot). */
  releasePermission(): void {
    this.#permits?.release();
  }

  /** Records a permitted call's success (ms); in HALF_OPEN it uses up the oldest trial permit. */
  onSuccess(durationMs: number): void {
    this.#outcome(durationMs, true, undefined);
  }

  /** Records a permitted call's failure (ms), subject to ignoreError / recordError. */
  onError(durationMs: number, err: unknown): void {
    this.#outcome(durationMs, false, err);
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
      trialsInFlight: this.#permits?.inFlight(this.#clock.now()) ?? 0,
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

  /** A permit: a lease id in HALF_OPEN, 0 in states that permit everything, null when refused (counted). */
  #acquireLease(): number | null {
    this.#checkTimers(true);
    switch (this.#state) {
      case "CLOSED":
      case "DISABLED":
        return 0;
      case "HALF_OPEN": {
        const lease = this.#permits!.acquire(this.#clock.now());
        if (lease !== null) return lease;
      }
    }
    this.#notPermitted++;
    return null;
  }

  #acquire(): number {
    const lease = this.#acquireLease();
    if (lease !== null) return lease;
    const now = this.#clock.now();
    const retryAfterMs =
      this.#state === "OPEN" ? Math.max(0, this.#enteredAt + this.config.waitDurationInOpenState - now)
      : this.#state === "HALF_OPEN" ? 0
      : this.config.waitDurationInOpenState;
    throw new CircuitOpenError(this.name, this.#state, retryAfterMs);
  }

  /** One call's outcome; `lease` = its half-open lease (0/undefined: the oldest, for the manual API). */
  #outcome(durationMs: number, ok: boolean, err: unknown, lease?: number): void {
    if (!ok && this.#ignoreError(err)) return this.#permits?.release(lease || undefined);
    this.#permits?.report(lease || undefined);
    this.#record(!ok && this.#recordError(err), durationMs);
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

  /** The lazy stand-in for resilience4j's scheduler: open wait and the opt-in half-open time limit. */
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
    this.#permits = null;
    if (to === "HALF_OPEN") {
      const n = this.config.permittedNumberOfCallsInHalfOpenState;
      this.#window = new OutcomeWindow(n, false, now);
      this.#minCalls = Math.min(this.config.minimumNumberOfCalls, n);
      this.#permits = new HalfOpenPermits(n, this.config.halfOpenPermitLeaseMs);
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
