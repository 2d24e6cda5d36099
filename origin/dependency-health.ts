import { systemClock, type Clock } from "../shared/clock.ts";
import { LatencyWindow } from "../shared/latency-window.ts";

// Availability and latency of one dependency (Postgres or Redis) as observed by this isolate's real
// calls, plus a rate-limited background probe so a dependency we stopped calling (because it looked
// down) is noticed when it comes back. Feeds the origin's degradation level.
export interface DependencyView {
  available: boolean;
  /** p99 (ms) of calls in the last 15 s, null without samples. */
  p99Ms: number | null;
  p50Ms: number | null;
  samples: number;
  errorRate: number | null;
  consecutiveFailures: number;
  lastError: string | null;
}


export class DependencyHealth {
  readonly name: string;
  private readonly downAfterFailures: number;
  private readonly probeEveryMs: number;
  // 15 s: long enough for a stable p99/median, short enough that a recovered dependency stops
  // holding the level up within seconds (the design names no window).
  private readonly window: LatencyWindow;
  private failures = 0;
  private lastErr: string | null = null;
  private lastProbeAt = 0;
  private readonly now: () => number;

  constructor(name: string, opts: { downAfterFailures?: number; probeEveryMs?: number; now?: () => number; clock?: Clock } = {}) {
    this.name = name;
    this.downAfterFailures = opts.downAfterFailures ?? 2;
    this.probeEveryMs = opts.probeEveryMs ?? 1000;
    const clock = opts.clock ?? systemClock;
    this.now = opts.now ?? (() => clock.now());
    this.window = new LatencyWindow({ windowMs: 15_000, bucketMs: 1000, clock });
  }

  /**
   * A successful call. Only `sampleLatency` calls feed the latency signal: for Postgres those are the
   * cheap probes (`SELECT 1`), so "database latency" measures the database's responsiveness rather than
   * how heavy our candidate queries are.
   */
  ok(latencyMs: number, sampleLatency = true): void {
    this.failures = 0;
    this.lastErr = null;
    if (sampleLatency) this.window.record(latencyMs, true);
  }

  fail(err: unknown): void {
    this.failures++;
    this.lastErr = err instanceof Error ? err.message : String(err);
    this.window.record(0, false);
  }

  /** Wrap a call: records its outcome and latency. */
  async observe<T>(f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const v = await f();
      this.ok(performance.now() - t0);
      return v;
    } catch (e) {
      this.fail(e);
      throw e;
    }
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
      consecutiveFailures: this.failures, lastError: this.lastErr,
    };
  }
}
