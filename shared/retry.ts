// Retries with per-try timeouts, the seed's backoff schedule and an overall deadline (DESIGN.md §3,
// "Retries"). The table gives explicit delays with a ±percentage jitter (e.g. DB read 10/50/200 ms ±20%),
// not AWS-style full or decorrelated jitter, so that is what this does: delay_i = table_i × (1 ± jitter),
// uniformly. The numbers live in shared/config.ts (RETRY); the named policies below are those entries.

import { CircuitOpenError } from "./circuit-breaker.ts";
import { systemClock, type Clock } from "./clock.ts";
import { RETRY, type RetryPolicy } from "./config.ts";

export type { RetryPolicy };

/** Feature store (Redis): 2 retries, 10/50 ms ±10%, 5 ms per try. */
export const FEATURE_STORE_RETRY: RetryPolicy = RETRY.featureStore;
/** ML inference: 1 retry, 20 ms ±20%, 40 ms per try. */
export const ML_INFERENCE_RETRY: RetryPolicy = RETRY.mlInference;
/** DB read: 3 retries, 10/50/200 ms ±20%, 100 ms per try. */
export const DB_READ_RETRY: RetryPolicy = RETRY.dbRead;
/** DB write: 3 retries, 100/500/2000 ms ±30%, 5 s per try. */
export const DB_WRITE_RETRY: RetryPolicy = RETRY.dbWrite;
/** CDN origin fetch: 2 retries, 100/500 ms ±20%, 2 s per try. */
export const CDN_ORIGIN_RETRY: RetryPolicy = RETRY.cdnOrigin;
/** External APIs: 3 retries, 1/5/15 s ±50%, 30 s per try. */
export const EXTERNAL_API_RETRY: RetryPolicy = RETRY.externalApi;

export interface RetryOptions {
  clock?: Clock;
  /** The caller's cancellation: aborts the current try and stops retrying (never retried). */
  signal?: AbortSignal;
  /** [0, 1) source for jitter; injected in tests. */
  random?: () => number;
  /** Whether an error is worth another try. Default: defaultRetryable. A try that hit its own timeout
   * is always retried (a timeout is the transient failure the per-try budget exists for). */
  retryable?: (err: unknown) => boolean;
  /** Overall budget (ms) from the first try. The table names none, so by default there is none. */
  deadlineMs?: number;
  /** Observability hook, called before each backoff sleep. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** A try that ran past its per-try timeout (or the remaining deadline). Counts as a failed try. */
export class TryTimeoutError extends Error {
  override readonly name = "TryTimeoutError";
  readonly attempt: number;
  readonly timeoutMs: number;
  constructor(attempt: number, timeoutMs: number) {
    super(`try ${attempt} timed out after ${timeoutMs} ms`);
    this.attempt = attempt;
    this.timeoutMs = timeoutMs;
  }
}

export class RetryExhaustedError extends Error {
  override readonly name = "RetryExhaustedError";
  readonly attempts: number;
  readonly lastError: unknown;
  /** "attempts": every try failed; "deadline": no time left for another try. */
  readonly reason: "attempts" | "deadline";
  constructor(attempts: number, lastError: unknown, reason: "attempts" | "deadline") {
    const last = attempts === 0 ? "no time left for a first try" : lastError instanceof Error ? lastError.message : String(lastError);
    super(`gave up after ${attempts} attempt(s) (${reason}): ${last}`, { cause: lastError });
    this.attempts = attempts;
    this.lastError = lastError;
    this.reason = reason;
  }
}

/**
 * Default: retry everything except an open circuit — the breaker will still be open a few ms later, and
 * its whole point is to fail fast to the fallback.
 */
export function defaultRetryable(err: unknown): boolean {
  return !(err instanceof CircuitOpenError);
}

/** Nominal backoff before retry `retry` (1-based); the table's last value repeats past its end. */
export function baseDelayMs(policy: RetryPolicy, retry: number): number {
  const d = policy.delaysMs;
  return d.length === 0 ? 0 : d[Math.min(retry, d.length) - 1];
}

/** Jittered backoff: uniform in [base × (1 − jitter), base × (1 + jitter)]. */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const base = baseDelayMs(policy, retry);
  return Math.max(0, base * (1 + policy.jitter * (2 * random() - 1)));
}

/** Longest a policy can take without a deadline: every try times out and every delay jitters high. */
export function worstCaseMs(policy: RetryPolicy): number {
  let total = (policy.retries + 1) * policy.perTryTimeoutMs;
  for (let r = 1; r <= policy.retries; r++) total += baseDelayMs(policy, r) * (1 + policy.jitter);
  return total;
}

function reasonOf(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("aborted", "AbortError");
}

/**
 * Runs one try with its own AbortController, aborted on timeout (reason: TryTimeoutError) or when the
 * caller aborts (its reason). The try is raced against both, so a fn that ignores its signal still cannot
 * hold the retry loop past its timeout; its eventual settlement is swallowed. Exported for
 * shared/resilience-policy.ts timeoutPolicy (the same race, one try).
 */
export async function runTry<T>(
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  attempt: number,
  timeoutMs: number,
  clock: Clock,
  outer: AbortSignal | undefined,
): Promise<T> {
  const tryCtl = new AbortController();
  const timerCtl = new AbortController();
  const onOuterAbort = () => tryCtl.abort(reasonOf(outer!));
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    tryCtl.signal.addEventListener("abort", () => reject(tryCtl.signal.reason), { once: true });
  });
  aborted.catch(() => {}); // a timer that fires just after the try settled must not leave an unhandled rejection
  clock.sleep(timeoutMs, timerCtl.signal).then(
    () => tryCtl.abort(new TryTimeoutError(attempt, timeoutMs)),
    () => {}, // timer cancelled because the try finished first
  );
  try {
    const work = Promise.resolve().then(() => fn(attempt, tryCtl.signal));
    work.catch(() => {}); // if the race is lost, a late rejection must not go unhandled
    return await Promise.race([work, aborted]);
  } finally {
    timerCtl.abort();
    outer?.removeEventListener("abort", onOuterAbort);
  }
}

/**
 * Calls fn up to policy.retries + 1 times. Throws fn's error as-is when it is not retryable or the
 * caller aborted, RetryExhaustedError (cause = last error) when tries or the deadline run out.
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy,
  opts: RetryOptions = {},
): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const retryable = opts.retryable ?? defaultRetryable;
  const deadline = opts.deadlineMs === undefined ? Infinity : clock.now() + opts.deadlineMs;
  const maxAttempts = policy.retries + 1;
  let lastError: unknown;

  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw reasonOf(opts.signal);
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw new RetryExhaustedError(attempt - 1, lastError, "deadline");
    try {
      return await runTry(fn, attempt, Math.min(policy.perTryTimeoutMs, remaining), clock, opts.signal);
    } catch (err) {
      lastError = err;
    }
    if (opts.signal?.aborted) throw reasonOf(opts.signal);
    if (!(lastError instanceof TryTimeoutError) && !retryable(lastError)) throw lastError;
    if (attempt >= maxAttempts) throw new RetryExhaustedError(attempt, lastError, "attempts");
    const delayMs = backoffMs(policy, attempt, random);
    // No point sleeping into the deadline only to have no time left for the try itself.
    if (clock.now() + delayMs >= deadline) throw new RetryExhaustedError(attempt, lastError, "deadline");
    opts.onRetry?.({ attempt, delayMs, error: lastError });
    await clock.sleep(delayMs, opts.signal);
  }
}
