import type { DegradationLevel } from "../shared/degradation.ts";
import { REGION_VALUES, type Region } from "../shared/regions.ts";
import type { EdgeBindings } from "./env.ts";
import { type ForcedLevels, getForcedLevels } from "./forced-levels.ts";
import { readPlan, type RegionView } from "./read-plan.ts";

export type { RegionView };

// Read routing: which regions to try, in order, and the level the edge reports. The RegionHealth
// Durable Object decides which regions are in rotation and their weights; each isolate caches its
// snapshot briefly so the single global object is not on every request's path. Who may serve a read is
// decided by edge/read-plan.ts; this file draws one route per read from that plan.
export interface RegionHealthStub {
  snapshot(): Promise<{ regions: Record<Region, { state: string; weight: number }> } & Record<string, unknown>>;
  drain(region: Region): Promise<unknown>;
  restore(region: Region): Promise<unknown>;
  ensureStarted(): Promise<unknown>;
  configure(partial: Record<string, unknown>): Promise<unknown>;
}

export function regionHealth(env: EdgeBindings): RegionHealthStub | null {
  if (!env.REGION_HEALTH) return null;
  return env.REGION_HEALTH.get(env.REGION_HEALTH.idFromName("global")) as unknown as RegionHealthStub;
}

const SNAPSHOT_MS = 1000;
let cached: { at: number; views: RegionView[] } | null = null;

export async function regionViews(env: EdgeBindings): Promise<RegionView[]> {
  if (cached && Date.now() - cached.at < SNAPSHOT_MS) return cached.views;
  const rh = regionHealth(env);
  let views: RegionView[] = REGION_VALUES.map((region) => ({ region, inRotation: true, weight: 1 }));
  if (rh) {
    try {
      const snap = await rh.snapshot();
      views = REGION_VALUES.map((region) => {
        const s = snap.regions[region];
        return { region, inRotation: !!s && s.weight > 0, weight: s?.weight ?? 0 };
      });
    } catch {
      /* health object unreachable: assume everything is in rotation; origin calls still fail over */
    }
  }
  cached = { at: Date.now(), views };
  return views;
}

export function invalidateRegionViews(): void {
  cached = null;
}

export interface ReadRoute {
  /** Regions to try, in order (preferred first when it is in rotation). */
  candidates: Region[];
  /** 0 normal · 4 preferred region out of rotation (or not drawn while recovering) · 5 several regions down (or forced). */
  level: DegradationLevel;
  /** Admin-forced levels per region (KV), forwarded to the origins with each read. */
  forced: ForcedLevels;
}

export async function routeRead(env: EdgeBindings, preferred: Region, rand = Math.random(), rand2 = Math.random()): Promise<ReadRoute> {
  const [views, forced] = await Promise.all([regionViews(env), getForcedLevels(env.FYP_KV)]);
  const { emergency, usable, pref, others } = readPlan(views, forced, preferred);
  if (emergency) return { candidates: usable.map((v) => v.region), level: 5, forced };
  // Weighted order among the others (recovering regions carry a reduced weight).
  const total = others.reduce((s, v) => s + v.weight, 0);
  let pick = rand * total;
  const first = others.find((v) => (pick -= v.weight) <= 0) ?? others[0];
  const ordered = first ? [first, ...others.filter((v) => v !== first)] : [];
  // A recovering preferred region takes only its weight's share of its own traffic (10% → 100%).
  if (pref && rand2 < pref.weight) return { candidates: [pref.region, ...ordered.map((v) => v.region)], level: 0, forced };
  if (pref) return { candidates: [...ordered.map((v) => v.region), pref.region], level: 4, forced };
  return { candidates: ordered.map((v) => v.region), level: 4, forced };
}

/**
 * Regions a feed read tries, in order: the preferred one (the user's home region for signed-in reads, else
 * geo) when the route put it first, then the reader's geo region, then the rest in the router's weighted
 * order. A recovering preferred region that this read did not draw (routeRead: 90% of its reads at 10%
 * weight) stays last, so it takes only its weight's share of its own traffic.
 */
export function tryOrder(candidates: Region[], preferred: Region, geo: Region): Region[] {
  const preferredFirst = candidates[0] === preferred;
  const rank = (r: Region) => (r === preferred ? (preferredFirst ? 0 : 3) : r === geo ? 1 : 2);
  return [...candidates].sort((a, b) => rank(a) - rank(b) || candidates.indexOf(a) - candidates.indexOf(b));
}

/**
 * tryOrder, with the reader's geo region asked for only when it matters: a preferred region the route put
 * first is tried first whatever the geo, so `geo()` (request.cf, which workerd materialises on access: ~5%
 * of a cache HIT's CPU, issue 13) is called only once a read goes past it (a failover) or when the
 * preferred region is not first. Yields the same regions in the same order as tryOrder.
 */
export function* tryOrderLazy(candidates: Region[], preferred: Region, geo: () => Region): Generator<Region> {
  const preferredFirst = candidates[0] === preferred;
  if (preferredFirst) yield preferred;
  for (const r of tryOrder(candidates, preferred, geo())) if (!(preferredFirst && r === preferred)) yield r;
}

