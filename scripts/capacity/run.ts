// Runs the capacity study: the seed's HPA over every scenario, then the search for the rule change that
// keeps p99 within the objective (rule-changes.ts), returning everything the report needs.
import { loadCalibration, type Calibration } from "./calibration.ts";
import { loadDeployedConfig, type DeployedConfig } from "./config.ts";
import { quantile } from "./histogram.ts";
import type { LatencyTable } from "./latency-model.ts";
import { rhoForP99, ruleCandidates, searchRuleChange, type RuleChange, type SearchOutcome } from "./rule-changes.ts";
import { buildSimParams, dayScenarios, latencyTable, trafficModel } from "./scenarios.ts";
import { simulateDay, type DayResult } from "./simulate-day.ts";
import { DAY_S, demandAt, type DayScenario } from "./traffic.ts";

export interface RunOptions {
  /** Simulated seconds from 00:00 UTC (default a day); tests shorten it. */
  durationS?: number;
  prerollS?: number;
  scenarioIds?: string[];
  /** Scenarios to run instead of the report's (tests use short ones). */
  scenarios?: DayScenario[];
  calibrationFile?: string;
  /** Search for a rule change when the seed fails (default true). */
  search?: boolean;
}

export interface RunOutput {
  deployed: DeployedConfig;
  calibration: Calibration;
  calibrationFile: string;
  table: LatencyTable;
  scenarios: DayScenario[];
  seed: DayResult[];
  search: SearchOutcome | null;
  /** The change shown side by side: the chosen one, or the best failing one when none passes. */
  change: RuleChange | null;
  changed: DayResult[] | null;
  derived: { capacity: number; idleP99Ms: number; rhoAtSlo: number; cpuPctAtSaturation: number; peakCallsPerS: number };
  elapsedMs: number;
}

/** Hardest scenarios first: the search stops a candidate at its first failure. */
const SEARCH_ORDER = ["region-loss-ranked", "spike", "region-loss", "normal"];

export function runCapacityStudy(o: RunOptions = {}): RunOutput {
  const t0 = performance.now();
  const deployed = loadDeployedConfig();
  const { calibration, file } = loadCalibration(o.calibrationFile);
  const table = latencyTable(calibration, deployed);
  const scenarios = (o.scenarios ?? dayScenarios()).filter((s) => !o.scenarioIds || o.scenarioIds.includes(s.id));
  const simOpts = { durationS: o.durationS, prerollS: o.prerollS };
  const simulate = (s: DayScenario, hpa = deployed.hpa) => simulateDay(s, buildSimParams(deployed, calibration, table, hpa, simOpts));
  const seed = scenarios.map((s) => simulate(s));

  const params = buildSimParams(deployed, calibration, table, deployed.hpa, simOpts);
  const cpuPctAtSaturation = (100 * table.capacity * params.cpuMsPerCall) / 1000 / params.cpuRequestCores;
  const model = trafficModel(calibration, deployed);
  let peakCallsPerS = 0;
  for (const s of scenarios) for (const r of deployed.regions) for (let t = 0; t < (o.durationS ?? DAY_S); t += 60) peakCallsPerS = Math.max(peakCallsPerS, demandAt(s, model, r, t).rankCallsPerS);
  const derived = { capacity: table.capacity, idleP99Ms: quantile(table.hist[0], 0.99), rhoAtSlo: rhoForP99(table, deployed.slowCallMs), cpuPctAtSaturation, peakCallsPerS };

  const seedPasses = seed.every((r) => Object.values(r.summary).every((x) => x.minutesOverSlo === 0 && x.breakerMinutes === 0));
  let search: SearchOutcome | null = null;
  let change: RuleChange | null = null;
  let changed: DayResult[] | null = null;
  if (!seedPasses && o.search !== false) {
    const byId = new Map(scenarios.map((s) => [s.id, s]));
    const order = [...SEARCH_ORDER.filter((id) => byId.has(id)), ...scenarios.map((s) => s.id).filter((id) => !SEARCH_ORDER.includes(id))];
    const candidates = ruleCandidates(deployed.hpa, table, deployed.slowCallMs, cpuPctAtSaturation, peakCallsPerS);
    search = searchRuleChange(candidates, order, (c, id) => simulate(byId.get(id)!, c.apply(deployed.hpa)));
    // Side by side: the chosen change, else the one that got furthest (fewest minutes over where it failed).
    change = search.chosen ?? [...search.tried].sort((a, b) => order.indexOf(b.failedOn!) - order.indexOf(a.failedOn!) || a.minutesOver - b.minutesOver)[0]?.change ?? null;
    if (change) {
      const done = new Map((search.chosen ? search.results : []).map((r) => [r.scenario.id, r]));
      changed = scenarios.map((s) => done.get(s.id) ?? simulate(s, change!.apply(deployed.hpa)));
    }
  }
  return { deployed, calibration, calibrationFile: file, table, scenarios, seed, search, change, changed, derived, elapsedMs: performance.now() - t0 };
}
