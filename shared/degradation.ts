// Degradation levels (DESIGN.md §3): which level a regional origin is at, computed from live signals,
// what each level means for the feed path, and a hysteresis wrapper so a noisy p99 cannot flap it.
//
// Levels 0–3 are decided at the origin from its own signals; 4 (region unhealthy → edge fails over) and
// 5 (several regions down → static emergency page) are decided at the edge from region health, so
// computeLevel only produces them when an admin forces them. Design thresholds (shared/config.ts):
// ML p99 > 50 ms or ranking breaker open → 1; feature store unavailable → 2; DB latency > 100 ms or down
// → 3. The highest triggered level wins and every trigger is listed in `reasons`.
//
// Where the design is silent (all overridable through DegradationThresholds / options):
//  - the breaker counts as "open" in OPEN, FORCED_OPEN and HALF_OPEN (half-open rejects all but 10 trial
//    calls, so nearly every request is on the fallback path anyway);
//  - "DB latency" is the DB p99, like the ML signal;
//  - "feature store unavailable" also covers an error rate ≥ 50% (a store that fails every other call
//    costs each request its retries and is effectively down);
//  - latency/error-rate signals are ignored below 20 samples when the caller passes a sample count (with
//    fewer, p99 is just the single slowest call);
//  - levels are a ladder: each level keeps the measures of the levels below it;
//  - stepping down waits until the lower level has held for 30 s (the design's own anti-flap and open
//    wait); stepping up is immediate; an admin-forced level applies at once, both ways.

import type { BreakerState } from "./circuit-breaker.ts";
import { systemClock, type Clock } from "./clock.ts";
import { CANDIDATES, LEVEL_THRESHOLDS, TTL, type DegradationLevel } from "./config.ts";

export type { DegradationLevel };

export interface DegradationSignals {
  /** ML ranking p99 over the recent window (ms); null/undefined = no data. */
  mlP99Ms?: number | null;
  mlSamples?: number;
  breakerState?: BreakerState;
  /** false when the feature store is known down (connection refused, health probe failing). */
  featureStoreAvailable?: boolean;
  /** 0..1 over the recent window. */
  featureStoreErrorRate?: number | null;
  featureStoreSamples?: number;
  dbAvailable?: boolean;
  dbP99Ms?: number | null;
  dbSamples?: number;
  /** Admin override (POST /v1/admin/degradation); null/undefined = automatic. */
  forcedLevel?: DegradationLevel | null;
}

export interface DegradationThresholds {
  mlP99Ms: number;
  dbP99Ms: number;
  featureStoreErrorRate: number;
  minSamples: number;
}

export const DEGRADATION_THRESHOLDS: Readonly<DegradationThresholds> = Object.freeze({
  mlP99Ms: LEVEL_THRESHOLDS.mlP99Ms,
  dbP99Ms: LEVEL_THRESHOLDS.dbLatencyMs,
  featureStoreErrorRate: 0.5,
  minSamples: 20,
});

export interface LevelDecision {
  level: DegradationLevel;
  /** Why, most severe first; empty at level 0. */
  reasons: string[];
  forced: boolean;
  /** What the signals alone say (differs from `level` when forced or held by hysteresis). */
  automaticLevel: DegradationLevel;
}

function enough(samples: number | undefined, t: DegradationThresholds): boolean {
  return samples === undefined || samples >= t.minSamples;
}

/** Pure: the level the signals call for right now, no memory. */
export function computeLevel(s: DegradationSignals, t: DegradationThresholds = DEGRADATION_THRESHOLDS): LevelDecision {
  const found: Array<[DegradationLevel, string]> = [];
  if (s.dbAvailable === false) found.push([3, "database down"]);
  else if (s.dbP99Ms != null && s.dbP99Ms > t.dbP99Ms && enough(s.dbSamples, t)) {
    found.push([3, `database p99 ${s.dbP99Ms.toFixed(1)} ms > ${t.dbP99Ms} ms`]);
  }
  if (s.featureStoreAvailable === false) found.push([2, "feature store unavailable"]);
  else if (s.featureStoreErrorRate != null && s.featureStoreErrorRate >= t.featureStoreErrorRate && enough(s.featureStoreSamples, t)) {
    found.push([2, `feature store error rate ${(s.featureStoreErrorRate * 100).toFixed(0)}% ≥ ${t.featureStoreErrorRate * 100}%`]);
  }
  if (s.breakerState === "OPEN" || s.breakerState === "FORCED_OPEN" || s.breakerState === "HALF_OPEN") {
    found.push([1, `ranking breaker ${s.breakerState.toLowerCase()}`]);
  }
  if (s.mlP99Ms != null && s.mlP99Ms > t.mlP99Ms && enough(s.mlSamples, t)) {
    found.push([1, `ML p99 ${s.mlP99Ms.toFixed(1)} ms > ${t.mlP99Ms} ms`]);
  }
  const automaticLevel = found.reduce<DegradationLevel>((m, [l]) => (l > m ? l : m), 0);
  const reasons = found.map(([, r]) => r);
  if (s.forcedLevel != null) {
    return { level: s.forcedLevel, reasons: [`forced to level ${s.forcedLevel} by admin`, ...reasons], forced: true, automaticLevel };
  }
  return { level: automaticLevel, reasons, forced: false, automaticLevel };
}

export interface LevelPolicy {
  level: DegradationLevel;
  description: string;
  /** Candidates generated before ranking (5K normally, 1K from level 1). */
  candidatePool: number;
  /** Serve cached recommendations (≤ cachedRecommendationMaxAgeMs old) before computing fresh ones. */
  preferCachedRecommendations: boolean;
  cachedRecommendationMaxAgeMs: number;
  /** Only precomputed (batch) features; skip real-time recent-activity lookups. */
  useBatchFeatures: boolean;
  /** Skip the feature store; rank with the default cold-start user embedding. */
  useColdStartEmbedding: boolean;
  /** Lean on content-based signals and a larger trending/explore share of candidates. */
  contentBased: boolean;
  boostTrendingExplore: boolean;
  /** Whether the origin calls the ranking service at all (the breaker still gates each call). */
  callRanking: boolean;
  /** No Postgres reads on the request path: serve from the caches only. */
  cacheOnly: boolean;
  /** Writes go to the queue for later, not to Postgres now. */
  queueWrites: boolean;
  /** `limited: true` in responses (the client shows the "limited functionality" banner). */
  limited: boolean;
  /** Edge: route this region's traffic to a healthy region. */
  failover: boolean;
  /** Edge: serve the pre-generated static trending/emergency page. */
  staticEmergencyPage: boolean;
  /** Likes, follows, events and other interactive features. */
  interactive: boolean;
}

const DESCRIPTIONS: Record<DegradationLevel, string> = {
  0: "normal",
  1: "ML degraded",
  2: "feature store unavailable",
  3: "database degraded",
  4: "region unhealthy",
  5: "multiple regions down",
};

/** What a level implies; levels are cumulative (level n keeps every measure of the levels below). */
export function levelPolicy(level: DegradationLevel): LevelPolicy {
  return {
    level,
    description: DESCRIPTIONS[level],
    candidatePool: level >= 1 ? CANDIDATES.degradedPool : CANDIDATES.normalPool,
    preferCachedRecommendations: level >= 1,
    cachedRecommendationMaxAgeMs: TTL.appFeedFallback * 1000,
    useBatchFeatures: level >= 1,
    useColdStartEmbedding: level >= 2,
    contentBased: level >= 2,
    boostTrendingExplore: level >= 2,
    callRanking: level <= 2,
    cacheOnly: level >= 3,
    queueWrites: level >= 3,
    limited: level >= 3,
    failover: level === 4,
    staticEmergencyPage: level >= 5,
    interactive: level <= 4,
  };
}

export interface DegradationControllerOptions {
  clock?: Clock;
  /** How long the signals must stay below the current level before stepping down (ms). */
  stepDownAfterMs?: number;
  thresholds?: DegradationThresholds;
}

/**
 * computeLevel plus hysteresis. Up: immediately. Down: once the signals have stayed below the current
 * level for stepDownAfterMs, to the highest level seen during that hold (then the hold restarts, so a
 * 3 → 1 → 0 recovery takes two holds). A forced level bypasses all of this and leaves the automatic
 * state tracking underneath, so clearing the override lands on an up-to-date level.
 */
export class DegradationController {
  readonly #clock: Clock;
  readonly #holdMs: number;
  readonly #thresholds: DegradationThresholds;
  #level: DegradationLevel = 0;
  #belowSince: number | null = null;
  #holdPeak: DegradationLevel = 0;
  #last: LevelDecision = { level: 0, reasons: [], forced: false, automaticLevel: 0 };
  #lastSignals: DegradationSignals | null = null;

  constructor(opts: DegradationControllerOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#holdMs = opts.stepDownAfterMs ?? 30_000;
    this.#thresholds = opts.thresholds ?? DEGRADATION_THRESHOLDS;
  }

  /** Feeds the current signals; returns the level to serve at. */
  update(signals: DegradationSignals): LevelDecision {
    this.#lastSignals = signals;
    const raw = computeLevel({ ...signals, forcedLevel: null }, this.#thresholds);
    const now = this.#clock.now();
    if (raw.level >= this.#level) {
      this.#level = raw.level;
      this.#belowSince = null;
    } else if (this.#belowSince === null) {
      this.#belowSince = now;
      this.#holdPeak = raw.level;
    } else {
      if (raw.level > this.#holdPeak) this.#holdPeak = raw.level;
      if (now - this.#belowSince >= this.#holdMs) {
        this.#level = this.#holdPeak;
        this.#belowSince = this.#level > raw.level ? now : null;
        this.#holdPeak = raw.level;
      }
    }
    const reasons = [...raw.reasons];
    if (this.#belowSince !== null) {
      reasons.push(`holding level ${this.#level}: signals below it for ${now - this.#belowSince} of ${this.#holdMs} ms`);
    }
    this.#last =
      signals.forcedLevel != null
        ? { level: signals.forcedLevel, reasons: [`forced to level ${signals.forcedLevel} by admin`, ...reasons], forced: true, automaticLevel: raw.level }
        : { level: this.#level, reasons, forced: false, automaticLevel: raw.level };
    return this.#last;
  }

  /**
   * The level now, without new signals: the last signals judged again at the clock's time, so a step-down
   * whose hold has run out completes even when no request brings new signals (a hold is clock time, not
   * a number of updates). Signals are a snapshot: feed time-windowed ones (shared/latency-window.ts) so
   * that what they report can itself age out.
   */
  current(): LevelDecision {
    return this.#lastSignals ? this.update(this.#lastSignals) : this.#last;
  }
}
