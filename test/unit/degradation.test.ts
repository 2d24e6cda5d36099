import { describe, expect, it } from "vitest";
import { FakeClock } from "../../shared/clock.ts";
import {
  computeLevel, DEGRADATION_THRESHOLDS, DegradationController, levelPolicy, type DegradationLevel,
} from "../../shared/degradation.ts";

// Levels 0–3 of DESIGN.md §3 from live signals, the measures each level implies, and the step-down hold.
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

  it("level 0: full 5K pool, real-time features, everything on", () => {
    expect(p(0)).toMatchObject({
      candidatePool: 5000, preferCachedRecommendations: false, useBatchFeatures: false, useColdStartEmbedding: false,
      callRanking: true, cacheOnly: false, queueWrites: false, limited: false, interactive: true,
    });
  });

  it("level 1: cached recommendations ≤ 1 h, pool 5K → 1K, batch features only", () => {
    expect(p(1)).toMatchObject({
      candidatePool: 1000, preferCachedRecommendations: true, cachedRecommendationMaxAgeMs: 3_600_000, useBatchFeatures: true,
      useColdStartEmbedding: false, cacheOnly: false, limited: false,
    });
  });

  it("level 2: cold-start embedding, content-based signals, more trending/explore (plus level 1)", () => {
    expect(p(2)).toMatchObject({
      candidatePool: 1000, useBatchFeatures: true, useColdStartEmbedding: true, contentBased: true, boostTrendingExplore: true,
      cacheOnly: false, limited: false,
    });
  });

  it("level 3: cache only, writes queued, limited: true", () => {
    expect(p(3)).toMatchObject({ cacheOnly: true, queueWrites: true, limited: true, callRanking: false, interactive: true, failover: false });
  });

  it("levels 4 and 5 are the edge's: failover, then the static emergency page with interaction off", () => {
    expect(p(4)).toMatchObject({ failover: true, staticEmergencyPage: false, interactive: true });
    expect(p(5)).toMatchObject({ failover: false, staticEmergencyPage: true, interactive: false, limited: true });
    expect([0, 1, 2, 3, 4, 5].map((l) => p(l as DegradationLevel).description)).toEqual([
      "normal", "ML degraded", "feature store unavailable", "database degraded", "region unhealthy", "multiple regions down",
    ]);
  });
});

describe("degradation: DegradationController hysteresis", () => {
  it("steps up at once and down only after the signals stay lower for 30 s", async () => {
    const clock = new FakeClock();
    const c = new DegradationController({ clock });
    expect(c.update({ dbAvailable: false }).level).toBe(3);
    await clock.advance(10_000);
    const held = c.update({});
    expect(held.level).toBe(3);
    expect(held.automaticLevel).toBe(0);
    expect(held.reasons.at(-1)).toContain("holding level 3");
    // The hold runs from the first update that saw the lower level (t = 10 s).
    await clock.advance(29_999);
    expect(c.update({}).level).toBe(3);
    await clock.advance(1);
    expect(c.update({}).level).toBe(0);
    expect(c.current().reasons).toEqual([]);
  });

  it("a relapse during the hold restarts it", async () => {
    const clock = new FakeClock();
    const c = new DegradationController({ clock, stepDownAfterMs: 1000 });
    c.update({ mlP99Ms: 90 });
    await clock.advance(900);
    c.update({});
    await clock.advance(50);
    expect(c.update({ mlP99Ms: 90 }).level).toBe(1); // back up: hold cleared
    await clock.advance(500);
    c.update({});
    await clock.advance(999);
    expect(c.update({}).level).toBe(1);
    await clock.advance(1);
    expect(c.update({}).level).toBe(0);
  });

  it("steps down to the highest level seen during the hold, then holds again", async () => {
    const clock = new FakeClock();
    const c = new DegradationController({ clock, stepDownAfterMs: 1000 });
    c.update({ dbAvailable: false });
    await clock.advance(1);
    c.update({});
    await clock.advance(500);
    c.update({ breakerState: "OPEN" }); // level 1 seen inside the hold
    await clock.advance(499);
    expect(c.update({}).level).toBe(3);
    await clock.advance(1);
    expect(c.update({}).level).toBe(1);
    await clock.advance(1000);
    expect(c.update({}).level).toBe(0);
  });

  it("a forced level applies immediately and clearing it returns to the tracked level", async () => {
    const clock = new FakeClock();
    const c = new DegradationController({ clock });
    expect(c.update({ forcedLevel: 2 })).toMatchObject({ level: 2, forced: true });
    expect(c.update({ forcedLevel: 0, dbAvailable: false })).toMatchObject({ level: 0, forced: true, automaticLevel: 3 });
    expect(c.update({})).toMatchObject({ level: 3, forced: false });
  });
});
