import type { DegradationLevel } from "../shared/degradation.ts";
import type { Region } from "../shared/regions.ts";
import { forcedPolicy, type ForcedLevels } from "./forced-levels.ts";

// Which regions may serve a reader's reads and with what weights (DESIGN §3 levels 4–5, failover steps
// "remove from rotation" and "re-add at 10% weight"), pure: edge/routing.ts draws one route per read from
// it, and GET /v1/status reports it as shares, with no draw (edge/status-route.ts), so a recovering region's
// status does not change from one poll to the next.

/** A region as routing sees it (from the RegionHealth snapshot): weight 0 = out of rotation. */
export interface RegionView {
  region: Region;
  inRotation: boolean;
  /** 0..1: 1 normally, the recovery weight (0.1) while a region is back on probation. */
  weight: number;
}

export interface ReadPlan {
  /** Level 5: several regions down, or level 5 forced on the preferred region → the static emergency page. */
  emergency: boolean;
  /** Regions in rotation and not forced to an edge level (4–5), in REGION_VALUES order. */
  usable: RegionView[];
  /** The preferred region, when usable; it takes `weight` of its own reads first. */
  pref: RegionView | null;
  /** The other usable regions: failover reads go to one of them, drawn by weight. */
  others: RegionView[];
}

export function readPlan(views: RegionView[], forced: ForcedLevels, preferred: Region): ReadPlan {
  if (forcedPolicy(forced, preferred).staticEmergencyPage) return { emergency: true, usable: [], pref: null, others: [] };
  const usable = views.filter((v) => v.inRotation && forcedPolicy(forced, v.region).originServes);
  const down = views.length - views.filter((v) => v.inRotation).length;
  // "Several regions down" (DESIGN §3 level 5): two of the three out, or nothing left to serve.
  const emergency = usable.length === 0 || down >= 2;
  return { emergency, usable, pref: usable.find((v) => v.region === preferred) ?? null, others: usable.filter((v) => v.region !== preferred) };
}

/** A share of one region's reads: which region serves it first, and the level those readers get. */
export interface ReadShare {
  region: Region | "emergency";
  /** 0..1 of the preferred region's reads; the shares of one plan add up to 1. */
  share: number;
  level: DegradationLevel;
}

/**
 * The plan as the shares its reads are split into, largest first (ties in plan order: the preferred
 * region, then the others in region order) — exactly the split routeRead's two draws produce: the preferred
 * region first for `weight` of its reads at level 0, the rest to the other regions by weight at level 4
 * (to the preferred region itself, still at level 4, when it is the only one left); at level 5 one share,
 * the emergency page.
 */
export function readShares(plan: ReadPlan): ReadShare[] {
  if (plan.emergency) return [{ region: "emergency", share: 1, level: 5 }];
  const shares: ReadShare[] = [];
  const own = plan.pref ? Math.min(1, Math.max(0, plan.pref.weight)) : 0;
  if (plan.pref && own > 0) shares.push({ region: plan.pref.region, share: own, level: 0 });
  const rest = 1 - own;
  const total = plan.others.reduce((s, v) => s + v.weight, 0);
  if (rest > 0 && total > 0) for (const v of plan.others) shares.push({ region: v.region, share: (rest * v.weight) / total, level: 4 });
  else if (rest > 0 && plan.pref) shares.push({ region: plan.pref.region, share: rest, level: 4 });
  return shares.map((s, i) => [s, i] as const).sort(([a, i], [b, j]) => b.share - a.share || i - j).map(([s]) => s);
}
