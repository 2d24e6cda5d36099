import { beforeEach, describe, expect, it } from "vitest";
import type { EdgeBindings } from "../../edge/env.ts";
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
