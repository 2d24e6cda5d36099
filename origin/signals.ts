import { CircuitBreaker, RANKING_BREAKER_DEFAULTS, breakerStateGauge } from "../shared/circuit-breaker.ts";
import { computeLevel } from "../shared/degradation.ts";
import { DependencyHealth } from "./dependency-health.ts";
import type { OriginForcedLevel } from "../shared/forced-level-header.ts";

// Live signals of one origin isolate (ranking breaker and latency, Redis and Postgres availability and
// latency, observed from real calls) fed to shared/degradation.ts, which maps them to levels 0–3 per
// DESIGN §3; an admin-forced level overrides the computed one.
export interface LevelReport {
  level: 0 | 1 | 2 | 3;
  computed: 0 | 1 | 2 | 3;
  forced: number | null;
  reasons: string[];
}

export class OriginSignals {
  readonly db = new DependencyHealth("postgres");
  readonly redis = new DependencyHealth("redis");
  readonly ml = new DependencyHealth("ranking", { downAfterFailures: Number.MAX_SAFE_INTEGER });
  readonly breaker: CircuitBreaker;
  forcedLevel: 0 | 1 | 2 | 3 | null = null;

  constructor(breaker = new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, name: "ranking" })) {
    this.breaker = breaker;
  }

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
      // Database latency = the median of the 1/s `SELECT 1` probes over the last minute: with one probe a
      // second, p99 is the single worst sample, which CPU contention alone can push past 100 ms.
      dbAvailable: db.available, dbP99Ms: db.p50Ms, dbSamples: db.samples,
      forcedLevel,
    });
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
/** One set of signals per isolate (module scope survives across requests in an isolate). */
export const originSignals = () => (signals ??= new OriginSignals());
