import { CircuitBreaker, RANKING_BREAKER_DEFAULTS, breakerStateGauge } from "../shared/circuit-breaker.ts";
import type { Clock } from "../shared/clock.ts";
import { computeLevel, DEGRADATION_THRESHOLDS, type DegradationThresholds } from "../shared/degradation.ts";
import { DependencyHealth } from "./dependency-health.ts";
import type { OriginForcedLevel } from "../shared/forced-level-header.ts";

// Live signals of one origin isolate (ranking breaker and latency, Redis and Postgres availability and
// latency, observed from real calls) fed to shared/degradation.ts, which maps them to levels 0–3 per
// DESIGN §3; an admin-forced level overrides the computed one.
//
// The two latency triggers (issue 12 item 2), each a p99 over a 60 s window judged from 20 samples on
// (origin/dependency-health.ts has the sample rule and its sources):
//  - level 1, "ML p99 > 50 ms": one sample per ranking step of a feed request, as the request lived it:
//    every try, the backoff between them, a timed-out try at its full elapsed time (origin/ranked-chain.ts).
//    With the seed's policy (40 ms per try, 1 retry after 20 ms ±20%) a step whose first try timed out
//    costs ≥ 40 + 16 ms > 50 ms, so "more than 1% of ranking steps hit a timeout" is level 1 — while the
//    per-try latency could never exceed the 40 ms timeout, which is why the signal is per request.
//  - level 3, "database latency > 100 ms": every query this isolate runs against Postgres (request path,
//    writes) plus the 1/s `SELECT 1` probes, failures at their elapsed time (origin/db.ts).
export interface LevelReport {
  level: 0 | 1 | 2 | 3;
  computed: 0 | 1 | 2 | 3;
  forced: number | null;
  reasons: string[];
}

export class OriginSignals {
  readonly db: DependencyHealth;
  readonly redis: DependencyHealth;
  readonly ml: DependencyHealth;
  readonly breaker: CircuitBreaker;
  forcedLevel: 0 | 1 | 2 | 3 | null = null;

  /** `clock`: time of the latency windows and probe cadence (tests pass a FakeClock); default the system's.
   * `windowMs`: span of the latency windows (default DEPENDENCY_WINDOW_MS, 60 s). */
  constructor(breaker = new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, name: "ranking" }), opts: { clock?: Clock; windowMs?: number } = {}) {
    this.breaker = breaker;
    const common = { clock: opts.clock, windowMs: opts.windowMs };
    this.db = new DependencyHealth("postgres", common);
    this.redis = new DependencyHealth("redis", common);
    this.ml = new DependencyHealth("ranking", { ...common, downAfterFailures: Number.MAX_SAFE_INTEGER });
  }

  /** Thresholds of the automatic levels; the seed's (shared/degradation.ts) unless the origin's config
   * overrides one (LEVEL_DB_P99_MS). */
  thresholds: DegradationThresholds = DEGRADATION_THRESHOLDS;

  /** `forced`: a forced level sent with the request (see shared/forced-level-header.ts); undefined = this
   * isolate's own setting. */
  level(forced: OriginForcedLevel | undefined = undefined): LevelReport {
    const forcedLevel = forced === undefined ? this.forcedLevel : forced;
    const db = this.db.view();
    const redis = this.redis.view();
    const ml = this.ml.view();
    const d = computeLevel({
      mlP99Ms: ml.p99Ms, mlSamples: ml.samples, breakerState: this.breaker.state,
      featureStoreAvailable: redis.available, featureStoreErrorRate: redis.errorRate, featureStoreSamples: redis.samples,
      dbAvailable: db.available, dbP99Ms: db.p99Ms, dbSamples: db.samples,
      forcedLevel,
    }, this.thresholds);
    const clamp = (l: number) => Math.min(3, l) as 0 | 1 | 2 | 3;
    const detail = [db.lastError && !db.available ? `postgres: ${db.lastError}` : "", redis.lastError && !redis.available ? `redis: ${redis.lastError}` : ""].filter(Boolean);
    return { level: clamp(d.level), computed: clamp(d.automaticLevel), forced: forcedLevel, reasons: [...d.reasons, ...detail] };
  }

  snapshot(): Record<string, unknown> {
    const lv = this.level();
    return {
      degradation_level: lv.level,
      computed_level: lv.computed,
      forced_level: lv.forced,
      reasons: lv.reasons,
      breakers: { ranking: { ...this.breaker.metrics(), gauge: breakerStateGauge(this.breaker.state) } },
      dependencies: { postgres: this.db.view(), redis: this.redis.view(), ranking: this.ml.view() },
    };
  }
}

let signals: OriginSignals | null = null;
/** One set of signals per isolate (module scope survives across requests in an isolate). `windowMs`
 * (the origin's LEVEL_WINDOW_MS; unset = 60 s) sizes the latency windows when the first call creates them. */
export function originSignals(windowMs?: number, dbP99Ms?: number): OriginSignals {
  if (!signals) {
    signals = new OriginSignals(undefined, { windowMs });
    if (dbP99Ms !== undefined) signals.thresholds = Object.freeze({ ...DEGRADATION_THRESHOLDS, dbP99Ms });
  }
  return signals;
}
