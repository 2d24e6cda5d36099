// One call shape for the resilience primitives, and one way to compose them (issue 12 §1), after
// cockatiel's IPolicy / wrap (connor4312/cockatiel, src/Policy.ts): every policy is an object with
// `execute(fn, signal)`, where fn receives the AbortSignal it must honour and `signal` is the caller's
// cancellation; `wrap(a, b, c).execute(fn, signal)` = `a.execute((s) => b.execute((s2) => c.execute(fn, s2), s), signal)`,
// first argument outermost, so `wrap(retry, breaker)` retries calls that go through the breaker (every try
// is one breaker call, as in cockatiel's README and resilience4j's Retry(CircuitBreaker(fn)) decoration).
//
// The policies:
//  - retryPolicy(row, opts): one row of DESIGN §3's retry table (shared/config.ts RETRY) run by the one
//    retry loop, shared/retry.ts `retry` (per-try timeout, ±jitter backoff, permanent errors not retried);
//  - timeoutPolicy(ms): one try with a timeout, the same race retry runs per try (shared/retry.ts runTry);
//  - shared/circuit-breaker.ts CircuitBreaker (resilience4j rules, kept: no library we use has its
//    slow-call rate), origin/bulkhead.ts Bulkhead, origin/dependency-health.ts DependencyHealth
//    (observation) implement the interface themselves;
//  - NOOP_POLICY: calls fn as-is (an optional observer that is absent).
// Errors pass through each layer as that layer documents them; wrap adds none of its own.

import { systemClock, type Clock } from "./clock.ts";
import type { RetryPolicy } from "./config.ts";
import { retry, runTry, type RetryOptions } from "./retry.ts";

/**
 * A resilience policy: runs `fn` under some rule and settles with its value or an error.
 * `fn(signal)`: the work; it should stop (and its I/O be aborted) when `signal` aborts. `signal`: the
 * caller's cancellation (optional); a policy hands fn a signal that aborts at least when this one does.
 */
export interface ResiliencePolicy {
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** Calls fn with the caller's signal (or a never-aborted one); no rule of its own. */
export const NOOP_POLICY: ResiliencePolicy = {
  execute: (fn, signal) => fn(signal ?? new AbortController().signal),
};

/** A retry policy built from one row of the retry table; `row` is kept for callers that size their I/O by it. */
export interface RetryingPolicy extends ResiliencePolicy {
  readonly row: Readonly<RetryPolicy>;
}

/** The options of shared/retry.ts `retry`, less the signal (that is execute's second argument). */
export type RetryPolicyOptions = Omit<RetryOptions, "signal">;

/**
 * `row` (retries, delays ms, ±jitter, per-try timeout ms) as a policy: execute runs fn up to
 * row.retries + 1 times, each try with its own signal that aborts at row.perTryTimeoutMs or when the
 * caller's signal aborts. Rejects as shared/retry.ts `retry`: a non-retryable error as-is (default: only
 * CircuitOpenError), the caller's abort reason, or RetryExhaustedError (cause = the last try's error,
 * TryTimeoutError for a try that ran out).
 */
export function retryPolicy(row: RetryPolicy, opts: RetryPolicyOptions = {}): RetryingPolicy {
  return {
    row,
    execute: (fn, signal) => retry((_attempt, trySignal) => fn(trySignal), row, { ...opts, signal }),
  };
}

/**
 * One try bounded by `timeoutMs` (ms): fn's signal aborts at the timeout (reason: TryTimeoutError) or when
 * the caller's signal aborts (its reason), and execute rejects with that reason at once even if fn
 * ignores its signal (fn's late settlement is dropped). cockatiel's "aggressive" TimeoutStrategy.
 */
export function timeoutPolicy(timeoutMs: number, opts: { clock?: Clock } = {}): ResiliencePolicy {
  const clock = opts.clock ?? systemClock;
  return { execute: (fn, signal) => runTry((_attempt, s) => fn(s), 1, timeoutMs, clock, signal) };
}

/**
 * Composes policies outermost first (cockatiel's wrap): `wrap(a, b).execute(fn, signal)` runs
 * `a.execute((s) => b.execute(fn, s), signal)`, so each layer's signal reaches the layers inside it and
 * fn gets the innermost one. `wrap()` is NOOP_POLICY.
 */
export function wrap(...policies: ResiliencePolicy[]): ResiliencePolicy {
  return {
    execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      const run = (i: number, s: AbortSignal | undefined): Promise<T> =>
        i === policies.length ? fn(s ?? new AbortController().signal) : policies[i].execute((next) => run(i + 1, next), s);
      return run(0, signal);
    },
  };
}
