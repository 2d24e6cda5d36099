import { beforeEach, describe, expect, it } from "vitest";
import type { EdgeBindings } from "../../edge/env.ts";
import { readPlan, readShares } from "../../edge/read-plan.ts";
import { levelPolicy } from "../../shared/degradation.ts";
import { invalidateRegionViews, routeRead, tryOrder } from "../../edge/routing.ts";
import type { Region } from "../../shared/regions.ts";

// The traffic split of DESIGN §3 "on recovery re-add at 10% weight" (edge/routing.ts): a region back in
// rotation at weight 0.1 is tried first by 10% of its own readers; the other 90% are served elsewhere
// (level 4) and try it last. Failover reads are spread over the other regions by weight. The router reads
// region health through its RegionHealthStub interface; here that is an in-memory snapshot (the Durable
// Object that produces the weights is tested in test/workers/region-health.test.ts). The random draws are
// passed in on a grid of 1,000, so the shares are exact.
type Weights = Record<Region, number>;

function envWith(weights: Weights): EdgeBindings {
  const snapshot = async () => ({ regions: Object.fromEntries(Object.entries(weights).map(([r, w]) => [r, { state: w === 1 ? "healthy" : w > 0 ? "recovering" : "removed", weight: w }])) as Record<Region, { state: string; weight: number }> });
  const stub = { snapshot, drain: async () => null, restore: async () => null, ensureStarted: async () => null, configure: async () => null };
  return {
    REGION_HEALTH: { idFromName: () => "global", get: () => stub },
    FYP_KV: { get: async () => null },
  } as unknown as EdgeBindings;
}

const GRID = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);

/** How many of the grid's reads from `reader` (home and geo) try each region first, and at which level. */
async function firstTries(env: EdgeBindings, reader: Region, draw: "rand" | "rand2") {
  const first: Partial<Record<Region, number>> = {};
  const levels: Record<number, number> = {};
  for (const x of GRID) {
    const route = draw === "rand2" ? await routeRead(env, reader, 0.5, x) : await routeRead(env, reader, x, 0.5);
    const r = tryOrder(route.candidates, reader, reader)[0];
    first[r] = (first[r] ?? 0) + 1;
    levels[route.level] = (levels[route.level] ?? 0) + 1;
  }
  return { first, levels };
}

beforeEach(() => invalidateRegionViews());

describe("a recovering region takes 10% of its traffic", () => {
  it("its readers: 100 of 1,000 feed reads try it first (level 0), 900 are served elsewhere first (level 4)", async () => {
    const { first, levels } = await firstTries(envWith({ us: 1, eu: 0.1, apac: 1 }), "eu", "rand2");
    expect(first.eu).toBe(100);
    expect((first.us ?? 0) + (first.apac ?? 0)).toBe(900);
    expect(levels).toEqual({ 0: 100, 4: 900 });
  });

  it("the 90% still fall back to it last: it is in rotation", async () => {
    const route = await routeRead(envWith({ us: 1, eu: 0.1, apac: 1 }), "eu", 0.5, 0.99);
    expect(tryOrder(route.candidates, "eu", "eu").at(-1)).toBe("eu");
    expect(route.candidates).toHaveLength(3);
  });

  it("a signed-in reader whose home is recovering: geo next, the home region last", async () => {
    const route = await routeRead(envWith({ us: 1, eu: 0.1, apac: 1 }), "eu", 0.1, 0.99);
    expect(tryOrder(route.candidates, "eu", "us")).toEqual(["us", "apac", "eu"]);
  });

  it("at full weight every read tries the preferred region first", async () => {
    const { first, levels } = await firstTries(envWith({ us: 1, eu: 1, apac: 1 }), "eu", "rand2");
    expect(first).toEqual({ eu: 1000 });
    expect(levels).toEqual({ 0: 1000 });
  });

  it("failover reads of a removed region are spread by weight: a recovering region gets 0.1 / 1.1 of them", async () => {
    const { first } = await firstTries(envWith({ us: 1, eu: 0, apac: 0.1 }), "eu", "rand");
    expect(first.apac).toBe(Math.round((1000 * 0.1) / 1.1));
    expect(first.us).toBe(1000 - first.apac!);
  });
});

describe("status reports the same split as shares, without a draw (edge/read-plan.ts readShares)", () => {
  const views = (weights: Weights) => (Object.entries(weights) as [Region, number][]).map(([region, weight]) => ({ region, inRotation: weight > 0, weight }));
  const GRID2 = Array.from({ length: 100 }, (_, i) => (i + 0.5) / 100);

  /** Share of the 100 × 100 grid of both draws whose read tries each region first, per level. */
  async function drawnSplit(weights: Weights, reader: Region) {
    const env = envWith(weights);
    const split: Record<string, number> = {};
    for (const x of GRID2) for (const y of GRID2) {
      const route = await routeRead(env, reader, x, y);
      // As the feed route serves it: the emergency page at level 5, else the first region it tries.
      const first = levelPolicy(route.level).staticEmergencyPage ? "emergency" : tryOrder(route.candidates, reader, reader)[0];
      const key = `${first}@${route.level}`;
      split[key] = (split[key] ?? 0) + 1 / GRID2.length ** 2;
    }
    return split;
  }

  for (const [name, weights, reader] of [
    ["a recovering region's readers", { us: 1, eu: 0.1, apac: 1 }, "eu"],
    ["a removed region's readers, one failover target recovering", { us: 1, eu: 0, apac: 0.1 }, "eu"],
    ["a healthy region's readers", { us: 1, eu: 0.1, apac: 1 }, "us"],
    ["two regions out", { us: 1, eu: 0, apac: 0 }, "us"],
  ] as const) {
    it(`${name}: the shares are the draws' split`, async () => {
      const shares = readShares(readPlan(views(weights), {}, reader));
      expect(shares.reduce((a, x) => a + x.share, 0)).toBeCloseTo(1, 9);
      const drawn = await drawnSplit(weights, reader);
      expect(Object.keys(drawn).sort()).toEqual(shares.map((x) => `${x.region}@${x.level}`).sort());
      for (const x of shares) expect(drawn[`${x.region}@${x.level}`]).toBeCloseTo(x.share, 1);
    });
  }

  it("recovering eu: a tenth at level 0 on eu, the rest at level 4 on us and apac, largest share first", () => {
    expect(readShares(readPlan(views({ us: 1, eu: 0.1, apac: 1 }), {}, "eu"))).toEqual([
      { region: "us", share: 0.45, level: 4 }, { region: "apac", share: 0.45, level: 4 }, { region: "eu", share: 0.1, level: 0 },
    ]);
  });

  it("forced levels: 4 takes a region out of its readers' rotation, 5 sends them to the emergency page, 0–3 change nothing here", () => {
    const all = views({ us: 1, eu: 1, apac: 1 });
    expect(readShares(readPlan(all, { eu: 4 }, "eu"))).toEqual([{ region: "us", share: 0.5, level: 4 }, { region: "apac", share: 0.5, level: 4 }]);
    expect(readShares(readPlan(all, { eu: 5 }, "eu"))).toEqual([{ region: "emergency", share: 1, level: 5 }]);
    expect(readShares(readPlan(all, { eu: 3 }, "eu"))).toEqual([{ region: "eu", share: 1, level: 0 }]);
    expect(readShares(readPlan(all, { eu: 4 }, "us"))).toEqual([{ region: "us", share: 1, level: 0 }]);
  });
});
