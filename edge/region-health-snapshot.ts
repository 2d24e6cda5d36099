import { REGION_VALUES, type Region } from "../shared/regions.ts";
import type { Incident } from "./incident.ts";
import { levelsOf, routingState, weightOf, type HealthEvent, type HealthState, type MachineConfig, type MachineState, type RoutingState } from "./region-health-machine.ts";

// The read-only view of the failover state that RegionHealth serves (GET /v1/status "region_health",
// edge/routing.ts): per-region state, weight and traffic share after reweighting, levels, incidents and
// the transition log. Derived from MachineState only; no I/O.

export interface RegionSnapshot {
  state: RoutingState;
  health: HealthState;
  drained: boolean;
  /** Capacity weight in [0, 1] (edge/routing.ts reads this). */
  weight: number;
  /** The region's share of traffic after renormalising over the regions in rotation (reweight). */
  share: number;
  consecutiveFailures: number;
  lastProbeAt: number | null;
  lastOkAt: number | null;
  lastError: string | null;
  latencyMs: number | null;
  since: number;
  /** While recovering: when the error-free timer (re)started, and when full weight is due. */
  recoveringSince: number | null;
  fullWeightAt: number | null;
  lastRequestErrorAt: number | null;
  /** Removed with probes ok, kept out by recovery step 8 (global tables not in sync): why; else null. */
  awaitingSync: string | null;
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
