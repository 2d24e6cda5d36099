import { systemClock, type Clock } from "../shared/clock.ts";
import { LatencyWindow } from "../shared/latency-window.ts";
import type { ResiliencePolicy } from "../shared/resilience-policy.ts";

// Availability and latency of one dependency (Postgres, Redis, the ranking service) as observed by this
// isolate's real calls, plus a rate-limited background probe so a dependency we stopped calling (because
// it looked down) is noticed when it comes back. Feeds the origin's degradation level (origin/signals.ts).
//
// Latency rule (issue 12 item 2): every observed operation is a sample, failures included, and a failed
// operation counts as the time it took, never as 0. A call that hit its timeout therefore counts as at
// least its timeout: "slower than we were willing to wait" is the slowest kind of answer, not the fastest.
//
// Down rule: `downAfterFailures` consecutive failures that are not timeouts (refused, reset, an error
// answer). A timeout reported as such (fail(…, timedOut = true)) is a slow answer, not an absent one: a
// latency sample and an error, but no step toward "down", so a database that answers in 150 ms is judged
// by its latency (level 3 at p99 > 100 ms) rather than flapping between "down" and "up" with each probe
// that gets through. An outage's samples do not outlive it: the first success after "down" starts an
// empty window, as resilience4j starts a new window when a breaker closes; a merely slow spell ages out.
//
// Sample rule: percentiles over a time window (default 60 s, 1 s buckets), judged by shared/degradation.ts
// only once the window holds its minimum number of samples (20). The window length follows the seed's
// own p99 signal: the ranking service's `fyp_latency_p99_ms` HPA gauge is a p99 over the last 60 s
// (gpu-inference/service-metrics.ts), i.e. Prometheus' usual `histogram_quantile(0.99, rate(…[1m]))`
// range; the minimum count is resilience4j's `minimumNumberOfCalls` idea (no verdict on too few calls).
// 60 s is also what makes the database signal hold itself up at level 3: the request path then makes no
// queries and only the 1/s probes (plus the edge's probe every 10 s) feed the window: ~66 samples per
// 60 s, but only ~17 per 15 s, under the minimum of 20, which let the level fall while the database was
// still slow. No samples (or too few) = unknown = not degraded by latency (shared/latency-window.ts).

/** Default span of a dependency's latency window (ms): see the sample rule above. */
export const DEPENDENCY_WINDOW_MS = 60_000;

export interface DependencyView {
  available: boolean;
  /** p99 (ms) of the operations in the window, failures at their elapsed time; null without samples. */
  p99Ms: number | null;
  p50Ms: number | null;
  /** Operations recorded in the window (the count shared/degradation.ts compares with its minimum). */
  samples: number;
  errorRate: number | null;
  consecutiveFailures: number;
  lastError: string | null;
  /** Span of the window the figures above cover (ms). */
  windowMs: number;
}

export interface DependencyHealthOptions {
  /** Consecutive failures after which the dependency counts as down. Default 2. */
  downAfterFailures?: number;
  /** Least time between two background probes (ms). Default 1000: one probe a second. */
  probeEveryMs?: number;
  /** Span of the latency window (ms). Default DEPENDENCY_WINDOW_MS (60 s); the origin's LEVEL_WINDOW_MS. */
  windowMs?: number;
  now?: () => number;
  clock?: Clock;
}

/** Also a ResiliencePolicy (shared/resilience-policy.ts): outermost in a wrap, it observes the whole step. */
export class DependencyHealth implements ResiliencePolicy {
  readonly name: string;
  readonly windowMs: number;
  private readonly downAfterFailures: number;
  private readonly probeEveryMs: number;
  private readonly window: LatencyWindow;
  private failures = 0;
  private lastErr: string | null = null;
  private lastProbeAt = -Infinity;
  private readonly now: () => number;
  /** Time source of observe(): the injected clock (tests), else performance.now(). */
  private readonly time: () => number;

  constructor(name: string, opts: DependencyHealthOptions = {}) {
    this.name = name;
    this.downAfterFailures = opts.downAfterFailures ?? 2;
    this.probeEveryMs = opts.probeEveryMs ?? 1000;
    this.windowMs = opts.windowMs ?? DEPENDENCY_WINDOW_MS;
    const clock = opts.clock ?? systemClock;
    this.now = opts.now ?? (() => clock.now());
    this.time = opts.clock ? () => clock.now() : () => performance.now();
    this.window = new LatencyWindow({ windowMs: this.windowMs, bucketMs: 1000, clock });
  }

  /** A successful operation that took `latencyMs` (ms): one latency sample, and the failure streak ends
   * (the first success after "down" empties the window first: the outage's samples go with it). */
  ok(latencyMs: number): void {
    if (this.failures >= this.downAfterFailures) this.window.reset();
    this.failures = 0;
    this.lastErr = null;
    this.window.record(latencyMs, true);
  }

  /**
   * A failed operation after `latencyMs` (ms) of waiting: one sample at that latency (a timeout counts as
   * at least its timeout) and one error toward the error rate; unless `timedOut`, also one more
   * consecutive failure toward "down" (see the down rule above).
   */
  fail(err: unknown, latencyMs: number, timedOut = false): void {
    if (!timedOut) this.failures++;
    this.lastErr = err instanceof Error ? err.message : String(err);
    this.window.record(latencyMs, false);
  }

  /**
   * Wraps an operation: records its outcome and wall time (ms) whether it resolves or
   * rejects, then passes the result or error through. `notACall(err)` = true marks a failure in which
   * the dependency was never called (e.g. a circuit breaker refused every try): nothing is recorded.
   */
  async observe<T>(f: () => Promise<T>, notACall?: (err: unknown) => boolean): Promise<T> {
    const t0 = this.time();
    try {
      const v = await f();
      this.ok(this.time() - t0);
      return v;
    } catch (e) {
      if (!notACall?.(e)) this.fail(e, this.time() - t0);
      throw e;
    }
  }

  /** observe() in the policy shape: fn gets the caller's signal; every outcome is one sample. */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.observe(() => fn(signal ?? new AbortController().signal));
  }

  /** A policy that observes like observe(f, notACall): failures for which notACall(err) is true are not recorded. */
  observing(notACall: (err: unknown) => boolean): ResiliencePolicy {
    return { execute: (fn, signal) => this.observe(() => fn(signal ?? new AbortController().signal), notACall) };
  }

  /** True at most once per probe period; the caller then runs a cheap probe through observe(). */
  probeDue(): boolean {
    const t = this.now();
    if (t - this.lastProbeAt < this.probeEveryMs) return false;
    this.lastProbeAt = t;
    return true;
  }

  view(): DependencyView {
    const w = this.window.snapshot();
    return {
      available: this.failures < this.downAfterFailures, p99Ms: w.p99, p50Ms: w.p50, samples: w.count, errorRate: w.count ? w.errorRate : null,
      consecutiveFailures: this.failures, lastError: this.lastErr, windowMs: this.windowMs,
    };
  }
}
