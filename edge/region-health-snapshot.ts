import { REGION_VALUES, type Region } from "../shared/regions.ts";
import type { Incident } from "./incident.ts";
import { levelsOf, routingState, weightOf, type HealthEvent, type MachineConfig, type MachineState, type RegionRecord, type RoutingState } from "./region-health-machine.ts";

// The read-only view of the failover state that RegionHealth serves (GET /v1/status "region_health",
// edge/routing.ts): per-region state, weight and traffic share after reweighting, levels, incidents and
// the transition log. Derived from MachineState only; no I/O.

/** The record's own fields as the machine keeps them (edge/region-health-machine.ts RegionRecord), plus the derived ones. */
export interface RegionSnapshot extends Pick<RegionRecord,
  "health" | "drained" | "consecutiveFailures" | "lastProbeAt" | "lastOkAt" | "lastError" | "latencyMs" | "since"
  | "recoveringSince" | "lastRequestErrorAt" | "awaitingSync"> {
  state: RoutingState;
  /** Capacity weight in [0, 1] (edge/routing.ts reads this). */
  weight: number;
  /** The region's share of traffic after renormalising over the regions in rotation (reweight). */
  share: number;
  /** While recovering: when full weight is due (recoveringSince + fullWeightAfterMs); else null. */
  fullWeightAt: number | null;
}

export interface HealthSnapshot {
  regions: Record<Region, RegionSnapshot>;
  level: number;
  levels: Record<Region, number>;
  incidents: Incident[];
  events: HealthEvent[];
  updatedAt: number;
}

export function snapshotOf(s: MachineState, cfg: Pick<MachineConfig, "recoveryWeight" | "fullWeightAfterMs">): HealthSnapshot {
  const total = REGION_VALUES.reduce((sum, r) => sum + weightOf(s.regions[r], cfg), 0);
  const regions = {} as Record<Region, RegionSnapshot>;
  for (const region of REGION_VALUES) {
    const r = s.regions[region];
    const weight = weightOf(r, cfg);
    regions[region] = {
      state: routingState(r), health: r.health, drained: r.drained, weight, share: total > 0 ? weight / total : 0,
      consecutiveFailures: r.consecutiveFailures, lastProbeAt: r.lastProbeAt, lastOkAt: r.lastOkAt,
      lastError: r.lastError, latencyMs: r.latencyMs, since: r.since, recoveringSince: r.recoveringSince,
      fullWeightAt: r.recoveringSince === null ? null : r.recoveringSince + cfg.fullWeightAfterMs, lastRequestErrorAt: r.lastRequestErrorAt,
      awaitingSync: r.awaitingSync,
    };
  }
  return { regions, ...levelsOf(s, cfg), incidents: structuredClone(s.incidents), events: structuredClone(s.events), updatedAt: s.updatedAt };
}
