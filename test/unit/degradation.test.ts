import { describe, expect, it } from "vitest";
import { forcedOriginLevel } from "../../shared/forced-level-header.ts";
import { computeLevel, DEGRADATION_THRESHOLDS, isDegradationLevel, levelPolicy, type DegradationLevel } from "../../shared/degradation.ts";

// Levels 0–3 of DESIGN.md §3 from live signals, and the measures each level implies (the policy table).
describe("degradation: computeLevel", () => {
  it("uses the design's thresholds", () => {
    expect(DEGRADATION_THRESHOLDS).toMatchObject({ mlP99Ms: 50, dbP99Ms: 100 });
  });

  it("is 0 with healthy signals and with no data at all", () => {
    expect(computeLevel({})).toEqual({ level: 0, reasons: [], forced: false, automaticLevel: 0 });
    const healthy = computeLevel({
      mlP99Ms: 30, breakerState: "CLOSED", featureStoreAvailable: true, featureStoreErrorRate: 0.01, dbAvailable: true, dbP99Ms: 20,
    });
    expect(healthy.level).toBe(0);
  });

  it("level 1 on ML p99 strictly over 50 ms", () => {
    expect(computeLevel({ mlP99Ms: 50 }).level).toBe(0);
    const d = computeLevel({ mlP99Ms: 50.5 });
    expect(d.level).toBe(1);
    expect(d.reasons).toEqual(["ML p99 50.5 ms > 50 ms"]);
  });

  it("level 1 when the ranking breaker is open, forced open or half-open", () => {
    for (const breakerState of ["OPEN", "FORCED_OPEN", "HALF_OPEN"] as const) {
      expect(computeLevel({ breakerState }).level).toBe(1);
    }
    expect(computeLevel({ breakerState: "CLOSED" }).level).toBe(0);
    expect(computeLevel({ breakerState: "DISABLED" }).level).toBe(0);
  });

  it("ignores a latency signal with too few samples when a count is given", () => {
    expect(computeLevel({ mlP99Ms: 500, mlSamples: 19 }).level).toBe(0);
    expect(computeLevel({ mlP99Ms: 500, mlSamples: 20 }).level).toBe(1);
    expect(computeLevel({ dbP99Ms: 500, dbSamples: 3 }).level).toBe(0);
  });

  it("level 2 when the feature store is unavailable or failing half its calls", () => {
    expect(computeLevel({ featureStoreAvailable: false }).level).toBe(2);
    expect(computeLevel({ featureStoreErrorRate: 0.49 }).level).toBe(0);
    expect(computeLevel({ featureStoreErrorRate: 0.5, featureStoreSamples: 40 }).level).toBe(2);
  });

  it("level 3 when the database is down or its p99 is over 100 ms", () => {
    expect(computeLevel({ dbAvailable: false }).reasons).toEqual(["database down"]);
    expect(computeLevel({ dbAvailable: false }).level).toBe(3);
    expect(computeLevel({ dbP99Ms: 100 }).level).toBe(0);
    expect(computeLevel({ dbP99Ms: 101 }).level).toBe(3);
  });

  it("takes the highest triggered level and lists every reason, most severe first", () => {
    const d = computeLevel({ mlP99Ms: 80, breakerState: "OPEN", featureStoreAvailable: false, dbP99Ms: 250 });
    expect(d.level).toBe(3);
    expect(d.reasons).toEqual(["database p99 250.0 ms > 100 ms", "feature store unavailable", "ranking breaker open", "ML p99 80.0 ms > 50 ms"]);
  });

  it("an admin-forced level wins both ways and keeps the automatic level visible", () => {
    const down = computeLevel({ dbAvailable: false, forcedLevel: 0 });
    expect(down).toMatchObject({ level: 0, forced: true, automaticLevel: 3 });
    expect(down.reasons[0]).toBe("forced to level 0 by admin");
    expect(computeLevel({ forcedLevel: 5 })).toMatchObject({ level: 5, forced: true, automaticLevel: 0 });
    expect(computeLevel({ forcedLevel: null, mlP99Ms: 99 })).toMatchObject({ level: 1, forced: false });
  });
});

describe("degradation: levelPolicy", () => {
  const p = (l: DegradationLevel) => levelPolicy(l);

  it("level 0: full 5K pool in the seed's mix, full features, everything on", () => {
    expect(p(0)).toMatchObject({
      candidatePool: 5000, preferCachedRecommendations: false, featureMode: "full", contentBased: false, useRedis: true,
      callRanking: true, cacheOnly: false, writesAllowed: true, limited: false, interactive: true, healthyRegionCapacity: 1,
    });
    expect(p(0).mix).toEqual({ following: 0.16, similar: 0.5, trending: 0.3, explore: 0.08 });
  });

  it("level 1: cached recommendations ≤ 1 h, pool 5K → 1K, batch features only", () => {
    expect(p(1)).toMatchObject({
      candidatePool: 1000, preferCachedRecommendations: true, cachedRecommendationMaxAgeMs: 3_600_000, featureMode: "batch-only",
      callRanking: true, cacheOnly: false, writesAllowed: true, limited: false,
    });
    expect(p(1).mix).toEqual(p(0).mix);
  });

  it("level 2: cold-start embedding, content-based signals, more trending and more explore (plus level 1)", () => {
    expect(p(2)).toMatchObject({
      candidatePool: 1000, featureMode: "cold-start", contentBased: true, useRedis: false, callRanking: true, cacheOnly: false, limited: false,
    });
    expect(p(2).mix.trending).toBeGreaterThan(p(1).mix.trending);
    expect(p(2).mix.explore).toBeGreaterThan(p(1).mix.explore);
    const total = Object.values(p(2).mix).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 9);
  });

  it("level 3: cache only, writes queued (refused for later), limited: true", () => {
    expect(p(3)).toMatchObject({ cacheOnly: true, useRedis: true, writesAllowed: false, limited: true, callRanking: false, interactive: true, failover: false });
  });

  it("levels 4 and 5 are the edge's: failover with a ×1.5 capacity step, then the static emergency page with interaction off", () => {
    expect(p(4)).toMatchObject({ failover: true, healthyRegionCapacity: 1.5, staticEmergencyPage: false, interactive: true });
    expect(p(5)).toMatchObject({ failover: false, staticEmergencyPage: true, interactive: false, limited: true, writesAllowed: false });
    expect([0, 1, 2, 3, 4, 5].map((l) => p(l as DegradationLevel).description)).toEqual([
      "normal", "ML degraded", "feature store unavailable", "database degraded", "region unhealthy", "multiple regions down",
    ]);
  });

  it("levels 0–3 are the origin's (it serves its readers and is told a forced level); 4–5 the edge's", () => {
    expect([0, 1, 2, 3, 4, 5].map((l) => p(l as DegradationLevel).originServes)).toEqual([true, true, true, true, false, false]);
    expect([0, 1, 2, 3, 4, 5].map((l) => p(l as DegradationLevel).writesAllowed)).toEqual([true, true, true, false, false, false]);
    expect([0, 1, 2, 3, 4, 5].map((l) => p(l as DegradationLevel).staticEmergencyPage)).toEqual([false, false, false, false, false, true]);
    expect([0, 5, 6, -1, 2.5, "3", null, undefined].map(isDegradationLevel)).toEqual([true, true, false, false, false, false, false, false]);
    // What the edge forwards to the origin of a region forced to each level (shared/forced-level-header.ts).
    expect([0, 1, 2, 3, 4, 5, undefined, 7].map(forcedOriginLevel)).toEqual(["0", "1", "2", "3", "none", "none", "none", "none"]);
  });

  it("is one frozen row per level: the same object every call", () => {
    expect(levelPolicy(2)).toBe(levelPolicy(2));
    expect(Object.isFrozen(levelPolicy(2))).toBe(true);
  });
});
