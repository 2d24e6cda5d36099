import { CircuitBreaker, RANKING_BREAKER_DEFAULTS, breakerStateGauge } from "../shared/circuit-breaker.ts";
import { LEVEL_THRESHOLDS } from "../shared/config.ts";
import { DependencyHealth } from "./dependency-health.ts";

// Live signals of one origin isolate and the degradation level (0–3) they imply (DESIGN §3):
//   1 ML degraded      — ranking p99 > 50 ms or the ranking breaker not closed
//   2 feature store    — Redis unavailable
//   3 database         — Postgres unavailable or its p99 > 100 ms
// The highest applicable level wins; an admin-forced level overrides the computed one.
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

  level(): LevelReport {
    const reasons: string[] = [];
    let computed: 0 | 1 | 2 | 3 = 0;
    const db = this.db.view();
    if (!db.available) reasons.push(`postgres unavailable: ${db.lastError}`);
    else if (db.p99Ms !== null && db.p99Ms > LEVEL_THRESHOLDS.dbLatencyMs) reasons.push(`postgres p99 ${db.p99Ms.toFixed(0)} ms > ${LEVEL_THRESHOLDS.dbLatencyMs}`);
    if (reasons.length) computed = 3;
    const redis = this.redis.view();
    if (!redis.available) {
      reasons.push(`redis unavailable: ${redis.lastError}`);
      if (computed < 2) computed = 2;
    }
    const ml = this.ml.view();
    const state = this.breaker.state;
    if (state !== "CLOSED" && state !== "DISABLED") reasons.push(`ranking breaker ${state}`);
    if (ml.p99Ms !== null && ml.p99Ms > LEVEL_THRESHOLDS.mlP99Ms) reasons.push(`ranking p99 ${ml.p99Ms.toFixed(0)} ms > ${LEVEL_THRESHOLDS.mlP99Ms}`);
    if (computed === 0 && reasons.length) computed = 1;
    const level = this.forcedLevel ?? computed;
    if (this.forcedLevel !== null) reasons.unshift(`forced to ${this.forcedLevel} by admin`);
    return { level, computed, forced: this.forcedLevel, reasons };
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
