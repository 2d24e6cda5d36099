// Candidate changes to the seed's HPA rules, derived from the calibrated pod model rather than guessed,
// and the search for the first one that keeps every minute's p99 within the objective in every scenario.
//   - the CPU target: a pod's CPU is its event loop's (≈ 1 core at saturation, so 50% of a 2-core
//     request): a target of X% holds the pods at utilisation ρ = X / (CPU% at saturation). The candidate
//     targets are the ρ at which the pod model's p99 is 90 / 75 / 60 / 50% of the objective;
//   - maxReplicas, when the scenarios' peak ranking load needs more pods than the seed allows at that ρ;
//   - a faster scale-up (no stabilization window, +100% per 15 s), and a one-hour scale-down window
//     (a region without traffic during an outage keeps its pods for its return), for the same targets.
// Candidates are ordered cheapest first; the search runs the hardest scenario first and stops a
// candidate at its first failing scenario.
import type { HpaSpec } from "./config.ts";
import { quantile } from "./histogram.ts";
import type { LatencyTable } from "./latency-model.ts";
import type { DayResult } from "./simulate-day.ts";

export interface RuleChange {
  id: string;
  title: string;
  /** The changed fields, as `path: old → new` lines. */
  diff: string[];
  apply(spec: HpaSpec): HpaSpec;
}

/** Highest utilisation in the table whose p99 is ≤ p99Ms (0 if even an idle pod is slower). */
export function rhoForP99(t: LatencyTable, p99Ms: number): number {
  let best = 0;
  for (let i = 0; i < t.rho.length; i++) if (quantile(t.hist[i], 0.99) <= p99Ms) best = t.rho[i];
  return best;
}

const clone = (s: HpaSpec): HpaSpec => structuredClone(s);

/**
 * Candidate rule changes. `cpuPctAtSaturation`: a pod's CPU (% of request) at its capacity;
 * `peakCallsPerS`: the highest ranking load of any region in any scenario.
 */
export function ruleCandidates(seed: HpaSpec, t: LatencyTable, sloMs: number, cpuPctAtSaturation: number, peakCallsPerS: number): RuleChange[] {
  const cpu = seed.metrics.find((m) => m.type === "Resource");
  const oldCpu = cpu?.type === "Resource" ? cpu.resource.target.averageUtilization : null;
  if (oldCpu === null) return [];
  const up = seed.behavior.scaleUp;
  const down = seed.behavior.scaleDown;
  const upPolicies = up.policies.map((p) => `${p.type} ${p.value} per ${p.periodSeconds} s`).join(" + ");
  const out: RuleChange[] = [];
  for (const headroom of [0.9, 0.75, 0.6, 0.5]) {
    const rho = rhoForP99(t, headroom * sloMs);
    const target = Math.floor(rho * cpuPctAtSaturation);
    if (target < 1) continue;
    const needed = Math.ceil((1.15 * peakCallsPerS) / (t.capacity * (target / cpuPctAtSaturation)));
    const max = Math.max(seed.maxReplicas, Math.ceil(needed / 100) * 100);
    // Variants: as is; a fast scale-up; a scale-down window long enough to keep a region's capacity
    // through an outage of up to an hour (its pods are otherwise scaled down while it has no traffic).
    for (const [fast, holdS] of [[false, 0], [true, 0], [false, 3600], [true, 3600]] as const) {
      const diff = [`metrics[cpu].target.averageUtilization: ${oldCpu} → ${target}`];
      if (max !== seed.maxReplicas) diff.push(`maxReplicas: ${seed.maxReplicas} → ${max}`);
      if (fast) diff.push(`behavior.scaleUp: stabilizationWindowSeconds ${up.stabilizationWindowSeconds} → 0, ${upPolicies} → Percent 100 per 15 s`);
      if (holdS) diff.push(`behavior.scaleDown.stabilizationWindowSeconds: ${down.stabilizationWindowSeconds} → ${holdS}`);
      const extras = [max !== seed.maxReplicas ? `maxReplicas ${max}` : "", fast ? "fast scale-up" : "", holdS ? `scale-down window ${holdS / 60} min` : ""].filter(Boolean);
      out.push({
        id: `cpu${target}${max !== seed.maxReplicas ? `-max${max}` : ""}${fast ? "-fastup" : ""}${holdS ? `-hold${holdS}` : ""}`,
        title: `CPU target ${target}% (pods at ρ ≈ ${(target / cpuPctAtSaturation).toFixed(2)}, where a pod's p99 ≈ ${Math.round(headroom * 100)}% of ${sloMs} ms)${extras.length ? `, ${extras.join(", ")}` : ""}`,
        diff,
        apply: (s) => {
          const n = clone(s);
          for (const m of n.metrics) if (m.type === "Resource") m.resource.target.averageUtilization = target;
          n.maxReplicas = max;
          if (fast) n.behavior.scaleUp = { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] };
          if (holdS) n.behavior.scaleDown = { ...n.behavior.scaleDown, stabilizationWindowSeconds: holdS };
          return n;
        },
      });
    }
  }
  return out;
}

/** True when no region had a minute with p99 above the objective or an open breaker. */
export const passes = (r: DayResult): boolean => Object.values(r.summary).every((s) => s.minutesOverSlo === 0 && s.breakerMinutes === 0);

export interface SearchOutcome {
  chosen: RuleChange | null;
  /** Per candidate: the scenario it failed on (null = passed all). */
  tried: { change: RuleChange; failedOn: string | null; minutesOver: number }[];
  /** Full results of the chosen candidate (all scenarios), when one passed. */
  results: DayResult[];
}

/** Runs candidates in order against `scenarioIds` (hardest first) until one passes every scenario. */
export function searchRuleChange(candidates: RuleChange[], scenarioIds: string[], run: (change: RuleChange, scenarioId: string) => DayResult): SearchOutcome {
  const tried: SearchOutcome["tried"] = [];
  for (const change of candidates) {
    const results: DayResult[] = [];
    let failedOn: string | null = null;
    let minutesOver = 0;
    for (const id of scenarioIds) {
      const r = run(change, id);
      results.push(r);
      if (!passes(r)) {
        failedOn = id;
        minutesOver = Object.values(r.summary).reduce((s, x) => s + x.minutesOverSlo, 0);
        break;
      }
    }
    tried.push({ change, failedOn, minutesOver });
    if (failedOn === null) return { chosen: change, tried, results };
  }
  return { chosen: null, tried, results: [] };
}
