// Degradation levels (DESIGN.md §3): which level a regional origin is at, computed from live signals, and
// what each level means, as one policy table (`levelPolicy`).
//
// Levels 0–3 are decided at the origin from its own signals; 4 (region unhealthy → edge fails over) and
// 5 (several regions down → static emergency page) are decided at the edge from region health, so
// computeLevel only produces them when an admin forces them. Design thresholds (shared/config.ts):
// ML p99 > 50 ms or ranking breaker open → 1; feature store unavailable → 2; DB latency > 100 ms or down
// → 3. The highest triggered level wins and every trigger is listed in `reasons`.
//
// Where the design is silent (all overridable through DegradationThresholds):
//  - the breaker counts as "open" in OPEN, FORCED_OPEN and HALF_OPEN (half-open rejects all but 10 trial
//    calls, so nearly every request is on the fallback path anyway);
//  - "DB latency" is the DB p99, like the ML signal;
//  - "feature store unavailable" also covers an error rate ≥ 50% (a store that fails every other call
//    costs each request its retries and is effectively down);
//  - latency/error-rate signals are ignored below 20 samples when the caller passes a sample count (with
//    fewer, p99 is just the single slowest call);
//  - levels are a ladder: each level keeps the measures of the levels below it;
//  - no step-down hold of its own: the signals carry their own (a latency p99 stays high until its slow
//    samples leave the 60 s window, origin/dependency-health.ts; an open breaker waits its 30 s before
//    trial calls), and an extra 30 s hold on top only kept the feed degraded after the cause was gone.
//    An admin-forced level applies at once, both ways.

import type { BreakerState } from "./circuit-breaker.ts";
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
  /** What the signals alone say (differs from `level` when forced). */
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


/** Where a request's user features come from (origin/feature-store.ts runs in the matching mode). */
export type FeatureMode =
  /** Feature store (Redis) over Postgres: learned embedding, follows and real-time recent activity. */
  | "full"
  /** Precomputed (batch) features only: learned embedding and follows, no recent-activity lookup. */
  | "batch-only"
  /** Feature store skipped: the region's default cold-start user embedding, follows and history from Postgres. */
  | "cold-start";

/**
 * Shares of the candidate pool per source: each source is asked for share × pool ids (at least 20), and the
 * pool is filled following → similar → trending → explore, cut at its size (origin/candidates.ts).
 */
export interface SourceMix {
  following: number;
  similar: number;
  trending: number;
  explore: number;
}

/** The actions of one level, read field by field by the feed path, the write routes and the edge. */
export interface LevelPolicy {
  level: DegradationLevel;
  description: string;
  /** Candidates generated before ranking (5K normally, 1K from level 1). */
  candidatePool: number;
  mix: SourceMix;
  /** Serve the user's cached recommendations (≤ cachedRecommendationMaxAgeMs old) before computing fresh ones. */
  preferCachedRecommendations: boolean;
  cachedRecommendationMaxAgeMs: number;
  featureMode: FeatureMode;
  /** "similar" candidates from the topics of the videos the user engaged with (content), not from the user embedding. */
  contentBased: boolean;
  /** Whether the request path uses Redis (chains, cached recommendations, feature cache) at all. */
  useRedis: boolean;
  /** Whether the origin calls the ranking service at all (the breaker still gates each call). */
  callRanking: boolean;
  /** No Postgres on the request path: cached recommendations, cached trending, cached features only. */
  cacheOnly: boolean;
  /** false: the origin refuses writes with a retryable 503, so the edge's queue keeps them until it recovers. */
  writesAllowed: boolean;
  /** `limited: true` in responses (the client shows the "limited functionality" banner). */
  limited: boolean;
  /**
   * The region's own origin serves its readers (levels 0–3, which the origin decides and acts on itself).
   * false (4–5, the edge's levels): the edge takes the region out of read rotation, and an admin forcing
   * the level is not forwarded to the origin, which keeps running on its own signals.
   */
  originServes: boolean;
  /** Edge: route this region's traffic to a healthy region. */
  failover: boolean;
  /** Edge: capacity of each region still in rotation, × its normal size (failover step 4; back to 1 at step 8). */
  healthyRegionCapacity: number;
  /** Edge: serve the pre-generated static trending/emergency page. */
  staticEmergencyPage: boolean;
  /** Likes, follows, events and other interactive features. */
  interactive: boolean;
}

/** The seed's 5K mix (shared/config.ts CANDIDATES): 800 following, 2,500 similar, 1,500 trending, 400 explore. */
const SEED_MIX: SourceMix = Object.freeze({
  following: CANDIDATES.followingLimit / CANDIDATES.normalPool,
  similar: CANDIDATES.similarLimit / CANDIDATES.normalPool,
  trending: CANDIDATES.trendingLimit / CANDIDATES.normalPool,
  explore: CANDIDATES.exploreLimit / CANDIDATES.normalPool,
});
/**
 * Level 2: without the learned embedding "similar" (content-based now: the topics the user engaged with)
 * gives up half its share to trending (×1.5) and explore (×1.75); the shares add up to the whole pool.
 */
const CONTENT_MIX: SourceMix = Object.freeze({ following: SEED_MIX.following, similar: 0.25, trending: 0.45, explore: 0.14 });

/** Failover step 4: the regions left in rotation get 1.5× capacity while another region is out. */
export const FAILOVER_CAPACITY_STEP = 1.5;

const L0: LevelPolicy = {
  level: 0, description: "normal",
  candidatePool: CANDIDATES.normalPool, mix: SEED_MIX,
  preferCachedRecommendations: false, cachedRecommendationMaxAgeMs: TTL.appFeedFallback * 1000,
  featureMode: "full", contentBased: false, useRedis: true, callRanking: true,
  cacheOnly: false, writesAllowed: true, limited: false,
  originServes: true, failover: false, healthyRegionCapacity: 1, staticEmergencyPage: false, interactive: true,
};
const L1: LevelPolicy = { ...L0, level: 1, description: "ML degraded", candidatePool: CANDIDATES.degradedPool, preferCachedRecommendations: true, featureMode: "batch-only" };
const L2: LevelPolicy = { ...L1, level: 2, description: "feature store unavailable", mix: CONTENT_MIX, featureMode: "cold-start", contentBased: true, useRedis: false };
// From level 3 the request path touches neither Postgres nor ranking; Redis is all it has left.
const L3: LevelPolicy = { ...L2, level: 3, description: "database degraded", useRedis: true, callRanking: false, cacheOnly: true, writesAllowed: false, limited: true };
// Levels 4–5 are the edge's; an origin that is still answering behaves as at level 3 for them.
const L4: LevelPolicy = { ...L3, level: 4, description: "region unhealthy", originServes: false, failover: true, healthyRegionCapacity: FAILOVER_CAPACITY_STEP };
const L5: LevelPolicy = { ...L4, level: 5, description: "multiple regions down", failover: false, staticEmergencyPage: true, interactive: false };

/** DESIGN.md §3's levels as one table. Levels are a ladder: each row keeps the measures of the rows above it. */
const POLICIES: Readonly<Record<DegradationLevel, Readonly<LevelPolicy>>> = Object.freeze({
  0: Object.freeze(L0), 1: Object.freeze(L1), 2: Object.freeze(L2), 3: Object.freeze(L3), 4: Object.freeze(L4), 5: Object.freeze(L5),
});

/** Whether `v` is one of the six levels (forced levels are read back from KV as plain numbers). */
export function isDegradationLevel(v: unknown): v is DegradationLevel {
  return v === 0 || v === 1 || v === 2 || v === 3 || v === 4 || v === 5;
}

/**
 * What a level implies (the row of the table above; frozen, shared). The origin computes it once per
 * request from its live signals (origin/feed/context.ts) and hands it down; the pipeline, the write routes
 * and the edge's scaler read its fields and never compare level numbers.
 */
export function levelPolicy(level: DegradationLevel): Readonly<LevelPolicy> {
  return POLICIES[level];
}
