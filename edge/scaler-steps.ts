import type { KVNamespace } from "@cloudflare/workers-types";
import { levelPolicy } from "../shared/degradation.ts";
import { REGION_VALUES, type Region } from "../shared/regions.ts";
import { type MachineConfig, type MachineState, weightOf } from "./region-health-machine.ts";
import { type CapacityStep, type ScaleResult, scalerFor } from "./scaler.ts";

// Which capacity steps the failover procedure calls for (DESIGN §3 level 4: steps 4 and 8), decided from
// the region-health machine's state alone, and the record of the steps taken (shown in /v1/status as
// `capacity_steps`). RegionHealth (edge/region-health.ts) calls stepCapacity after every state change.
//
// Rule (pure, planCapacitySteps): a region at full weight gets the capacity the level-4 row of the policy
// table gives the regions left serving (×1.5) while any other region is below full weight — removed,
// drained, or recovering at its 10% weight — and its normal capacity (×1) otherwise. So a removal scales
// the others up, and the last region back at full weight (incident resolved) scales them back. Regions
// below full weight are left as they are. Targets, not increments: a repeated or replayed state change
// plans nothing new, and a restart of the object cannot double a step.

/** Factor per region last applied (absent = 1), and the latest steps with their outcome, oldest first. */
export interface CapacityRecord {
  factors: Partial<Record<Region, number>>;
  steps: (CapacityStep & ScaleResult & { scaler: "webhook" | "recording" })[];
}

export const CAPACITY_KEY = "capacity:record";
export const MAX_STEPS = 50;
const NORMAL = levelPolicy(0).healthyRegionCapacity;
/** The level-4 row: what the regions still in rotation get while a region is out. */
const FAILOVER = levelPolicy(4).healthyRegionCapacity;

/** Pure: the steps that take `factors` (absent = 1) to what `weights` (0..1 per region) call for, stamped `at`. */
export function planCapacitySteps(factors: CapacityRecord["factors"], weights: Record<Region, number>, at: number): CapacityStep[] {
  const steps: CapacityStep[] = [];
  for (const region of REGION_VALUES) {
    if (weights[region] < 1) continue;
    const because = REGION_VALUES.filter((r) => r !== region && weights[r] < 1);
    const factor = because.length ? FAILOVER : NORMAL;
    if (factor !== (factors[region] ?? NORMAL)) steps.push({ at, region, factor, because, step: factor > (factors[region] ?? NORMAL) ? "scale_up" : "scale_back" });
  }
  return steps;
}

export async function readCapacityRecord(kv: KVNamespace): Promise<CapacityRecord> {
  return (await kv.get<CapacityRecord>(CAPACITY_KEY, "json")) ?? { factors: {}, steps: [] };
}

// One step at a time per isolate (RegionHealth is a single object): read → plan → apply → write.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Plans the steps `state` calls for against the recorded factors, applies each through the configured
 * scaler (edge/scaler.ts) and records step + outcome (KV, the latest MAX_STEPS). A failed step is recorded
 * as failed and its factor still counts as applied (it shows on /v1/status; the next state change plans
 * from there). Resolves when done; never rejects (errors are logged).
 */
export function stepCapacity(env: { FYP_KV: KVNamespace; SCALER_WEBHOOK_URL?: string }, state: MachineState, cfg: Pick<MachineConfig, "recoveryWeight">, now = Date.now()): Promise<void> {
  const weights = Object.fromEntries(REGION_VALUES.map((r) => [r, weightOf(state.regions[r], cfg)])) as Record<Region, number>;
  const run = queue.then(async () => {
    const rec = await readCapacityRecord(env.FYP_KV);
    const steps = planCapacitySteps(rec.factors, weights, now);
    if (!steps.length) return;
    const { scaler, error } = scalerFor(env);
    if (error) console.error(`capacity: ${error}; steps are only recorded`);
    for (const s of steps) {
      const result = await scaler.apply(s);
      console.log(`capacity: ${s.region} ×${s.factor} (${s.step}${s.because.length ? `, ${s.because.join("+")} out` : ""}): ${result.outcome}`);
      rec.factors[s.region] = s.factor;
      rec.steps.push({ ...s, ...result, scaler: scaler.kind });
    }
    rec.steps = rec.steps.slice(-MAX_STEPS);
    await env.FYP_KV.put(CAPACITY_KEY, JSON.stringify(rec));
  });
  queue = run.catch((e: Error) => console.error(`capacity: step failed: ${e.message}`));
  return queue as Promise<void>;
}

/** `/v1/status` → `capacity_steps`: the scaler in use, current factors and the latest `limit` steps, newest first. */
export async function capacityStatus(env: { FYP_KV: KVNamespace; SCALER_WEBHOOK_URL?: string }, limit = 20) {
  const { scaler, error } = scalerFor(env);
  const rec = await readCapacityRecord(env.FYP_KV);
  const factors = Object.fromEntries(REGION_VALUES.map((r) => [r, rec.factors[r] ?? NORMAL]));
  return { scaler: scaler.kind, error, factors, recent: rec.steps.slice(-limit).reverse() };
}
