// The HorizontalPodAutoscaler controller's reconcile step with `behavior`, as in kube-controller-manager
// (pkg/controller/podautoscaler/horizontal.go: reconcileAutoscaler, normalizeDesiredReplicasWithBehaviors,
// stabilizeRecommendationWithBehaviors, convertDesiredReplicasWithBehaviorRate,
// calculateScale{Up,Down}LimitWithScalingRules). Pure: explicit timestamps (seconds), no I/O.
//   1. current outside [min, max] → clamp; else desired = max over the metrics' recommendations (a
//      scale-down is skipped while any metric is unavailable);
//   2. stabilization: the recommendation is held between the lowest recommendation of the scale-up
//      window and the highest of the scale-down window (both include this one), starting from current;
//   3. rate: scale-up ≤ the selected policy's limit, computed from the replicas at the start of each
//      policy's period (current − added + removed within periodSeconds); Percent rounds up, scale-down
//      Percent truncates; selectPolicy Max = the policy allowing the largest change, Min the smallest,
//      Disabled = no change in that direction; and min/max replicas.
// The controller runs every sync period (15 s, --horizontal-pod-autoscaler-sync-period).
import type { HpaSpec, ScalingRules } from "./config.ts";

export const SYNC_PERIOD_S = 15;

interface Stamped {
  at: number;
  value: number;
}

export interface HpaState {
  recommendations: Stamped[];
  scaleUpEvents: Stamped[];
  scaleDownEvents: Stamped[];
  initialised: boolean;
}

export const initialHpaState = (): HpaState => ({ recommendations: [], scaleUpEvents: [], scaleDownEvents: [], initialised: false });

/** Replicas changed by events strictly newer than now − periodSeconds. */
const changeInPeriod = (events: Stamped[], now: number, periodS: number) => events.filter((e) => e.at > now - periodS).reduce((s, e) => s + e.value, 0);

/** Highest replica count the scale-up rules allow now. */
export function scaleUpLimit(current: number, s: HpaState, rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Min" ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  for (const p of rules.policies) {
    const start = current - changeInPeriod(s.scaleUpEvents, now, p.periodSeconds) + changeInPeriod(s.scaleDownEvents, now, p.periodSeconds);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = rules.selectPolicy === "Min" ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** Lowest replica count the scale-down rules allow now. */
export function scaleDownLimit(current: number, s: HpaState, rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Min" ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const p of rules.policies) {
    const start = current - changeInPeriod(s.scaleUpEvents, now, p.periodSeconds) + changeInPeriod(s.scaleDownEvents, now, p.periodSeconds);
    const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = rules.selectPolicy === "Min" ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

export interface ReconcileResult {
  /** Replica count the controller writes to the scale subresource (= current when it does not scale). */
  desired: number;
  /** max over metrics before stabilization and rate limits (null when no metric could be computed). */
  metricDesired: number | null;
  reason: string;
}

/**
 * One reconcile at time `now` (s). `current` = the Deployment's spec.replicas; `metricDesired` = each
 * metric's recommendation (null where the metric is unavailable). Mutates `state` (recommendations, scale events).
 */
export function reconcile(spec: HpaSpec, state: HpaState, now: number, current: number, metricDesired: (number | null)[]): ReconcileResult {
  const { minReplicas: min, maxReplicas: max } = spec;
  if (!state.initialised) {
    state.recommendations.push({ at: now, value: current });
    state.initialised = true;
  }
  let desired: number;
  let reason: string;
  const known = metricDesired.filter((x): x is number => x !== null);
  if (current > max) [desired, reason] = [max, "current above maxReplicas"];
  else if (current < min) [desired, reason] = [min, "current below minReplicas"];
  else if (known.length === 0) return { desired: current, metricDesired: null, reason: "no metric available" };
  else {
    const proposal = Math.max(...known);
    if (known.length < metricDesired.length && proposal < current) return { desired: current, metricDesired: proposal, reason: "a metric is unavailable: scale-down skipped" };
    desired = normalizeWithBehaviors(spec, state, now, current, proposal);
    reason = desired > current ? "metric above target" : desired < current ? "all metrics below target" : "within tolerance/limits";
  }
  if (desired !== current) {
    const events = desired > current ? state.scaleUpEvents : state.scaleDownEvents;
    events.push({ at: now, value: Math.abs(desired - current) });
    const longest = Math.max(...[...spec.behavior.scaleUp.policies, ...spec.behavior.scaleDown.policies].map((p) => p.periodSeconds));
    state.scaleUpEvents = state.scaleUpEvents.filter((e) => e.at > now - longest);
    state.scaleDownEvents = state.scaleDownEvents.filter((e) => e.at > now - longest);
  }
  return { desired, metricDesired: known.length ? Math.max(...known) : null, reason };
}

function normalizeWithBehaviors(spec: HpaSpec, state: HpaState, now: number, current: number, proposal: number): number {
  const { scaleUp, scaleDown } = spec.behavior;
  // Stabilization (stabilizeRecommendationWithBehaviors).
  let up = proposal;
  let down = proposal;
  for (const r of state.recommendations) {
    if (r.at > now - scaleUp.stabilizationWindowSeconds) up = Math.min(up, r.value);
    if (r.at > now - scaleDown.stabilizationWindowSeconds) down = Math.max(down, r.value);
  }
  let rec = current;
  if (rec < up) rec = up;
  if (rec > down) rec = down;
  const keep = Math.max(scaleUp.stabilizationWindowSeconds, scaleDown.stabilizationWindowSeconds);
  state.recommendations = state.recommendations.filter((r) => r.at > now - keep);
  state.recommendations.push({ at: now, value: proposal });
  // Rate limits and bounds (convertDesiredReplicasWithBehaviorRate).
  if (rec > current) {
    const limit = Math.max(current, scaleUpLimit(current, state, scaleUp, now));
    return Math.min(rec, Math.min(spec.maxReplicas, limit));
  }
  if (rec < current) {
    const limit = Math.min(current, scaleDownLimit(current, state, scaleDown, now));
    return Math.max(rec, Math.max(spec.minReplicas, limit));
  }
  return rec;
}
