import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseHpa, type HpaSpec } from "../../scripts/capacity/config.ts";
import { initialHpaState, reconcile, SYNC_PERIOD_S } from "../../scripts/capacity/hpa.ts";
import { replicasForMetric } from "../../scripts/capacity/hpa-replicas.ts";

// The simulator's HPA against the worked examples of the Kubernetes documentation
// (concepts → workloads → autoscaling → HorizontalPodAutoscaler: "Algorithm details", "Scaling
// policies", "Stabilization window", "Default Behavior", "Example: limit scale down rate", "Example:
// disable scale down") and the controller code they describe (pkg/controller/podautoscaler).

const hpa = (behavior: string, minReplicas = 1, maxReplicas = 1000): HpaSpec =>
  parseHpa(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: t }
spec:
  minReplicas: ${minReplicas}
  maxReplicas: ${maxReplicas}
  metrics:
    - type: Pods
      pods: { metric: { name: m }, target: { type: AverageValue, averageValue: "100" } }
${behavior}`);

/** Runs the controller every sync period with a fixed metric recommendation; returns replicas per sync. */
function run(spec: HpaSpec, start: number, desired: (t: number) => number, syncs: number): number[] {
  const state = initialHpaState();
  let current = start;
  const out: number[] = [];
  for (let i = 0; i < syncs; i++) {
    current = reconcile(spec, state, i * SYNC_PERIOD_S, current, [desired(i * SYNC_PERIOD_S)]).desired;
    out.push(current);
  }
  return out;
}

describe("HPA algorithm: desired = ceil(current × metric / target)", () => {
  const pods = (n: number, value: number) => ({ samples: [{ count: n, value }], ignored: 0, missing: 0 });

  it("200m against 100m doubles, 50m halves (docs example)", () => {
    expect(replicasForMetric(4, "AverageValue", 0.1, pods(4, 0.2))).toBe(8);
    expect(replicasForMetric(4, "AverageValue", 0.1, pods(4, 0.05))).toBe(2);
  });

  it("skips a change within the 10% tolerance, acts just outside it", () => {
    expect(replicasForMetric(10, "AverageValue", 100, pods(10, 109))).toBe(10);
    expect(replicasForMetric(10, "AverageValue", 100, pods(10, 91))).toBe(10);
    expect(replicasForMetric(10, "AverageValue", 100, pods(10, 111))).toBe(12);
  });

  it("CPU utilization is truncated to whole percent before the ratio", () => {
    // 76.9% of a 70% target → 76 / 70 = 1.0857: inside the tolerance.
    expect(replicasForMetric(100, "Utilization", 70, pods(100, 76.9))).toBe(100);
    // 77.9% → 77 / 70 = 1.1, which in float64 is 1.1000000000000001: |1 − r| > 0.1, so the controller
    // (same arithmetic in Go) scales, to ceil(110.00000000000001) = 111.
    expect(replicasForMetric(100, "Utilization", 70, pods(100, 77.9))).toBe(111);
    expect(replicasForMetric(100, "Utilization", 70, pods(100, 78))).toBe(112);
  });

  it("not-yet-ready pods count as 0 on a scale-up; a direction flip means no change", () => {
    // 4 ready pods at 2× target, 6 pending: 4 × 200 / 10 pods = 80 → ratio 0.8 < 1 → no scale.
    expect(replicasForMetric(10, "AverageValue", 100, { samples: [{ count: 4, value: 200 }], ignored: 6, missing: 0 })).toBe(10);
    // 8 ready at 2×, 2 pending: (8 × 200) / 10 = 160 → ceil(1.6 × 10) = 16 (without them: ceil(2 × 8) = 16 too).
    expect(replicasForMetric(10, "AverageValue", 100, { samples: [{ count: 8, value: 200 }], ignored: 2, missing: 0 })).toBe(16);
  });

  it("missing metrics count as the target on a scale-down, 0 on a scale-up", () => {
    // 5 pods at 50 (ratio 0.5), 5 missing counted as 100 → 75 → ceil(0.75 × 10) = 8 instead of ceil(0.5 × 5) = 3.
    expect(replicasForMetric(10, "AverageValue", 100, { samples: [{ count: 5, value: 50 }], ignored: 0, missing: 5 })).toBe(8);
    // 5 pods at 300, 5 missing counted as 0 → 150 → ceil(1.5 × 10) = 15.
    expect(replicasForMetric(10, "AverageValue", 100, { samples: [{ count: 5, value: 300 }], ignored: 0, missing: 5 })).toBe(15);
  });

  it("no counted pod reports the metric → unavailable (null)", () => {
    expect(replicasForMetric(10, "AverageValue", 100, { samples: [], ignored: 10, missing: 0 })).toBeNull();
  });

  it("several metrics: the largest recommendation wins; a scale-down waits while one is unavailable", () => {
    const spec = hpa("");
    expect(reconcile(spec, initialHpaState(), 0, 10, [12, 20]).desired).toBe(20);
    expect(reconcile(spec, initialHpaState(), 0, 10, [5, null]).desired).toBe(10);
  });
});

describe("HPA behavior: policies, periods, stabilization (docs examples)", () => {
  it("scale-down Pods 4/60 s + Percent 10/60 s, selectPolicy Max: 80 → 72 → 64 (7.2 rounded up to 8) … 4 at a time below 40", () => {
    const spec = hpa(`  behavior:
    scaleDown:
      stabilizationWindowSeconds: 0
      policies:
        - { type: Pods, value: 4, periodSeconds: 60 }
        - { type: Percent, value: 10, periodSeconds: 60 }`);
    const replicas = run(spec, 80, () => 10, 4 * 16);
    const perMinute = replicas.filter((_, i) => i % 4 === 0);
    expect(perMinute.slice(0, 14)).toEqual([72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10]);
    // Within a period nothing more is removed: the policy holds over periodSeconds.
    expect(replicas.slice(0, 4)).toEqual([72, 72, 72, 72]);
  });

  it("selectPolicy Min picks the smaller change: 5 pods per minute while 10% is more, 10% once it is less", () => {
    const spec = hpa(`  behavior:
    scaleDown:
      stabilizationWindowSeconds: 0
      selectPolicy: Min
      policies:
        - { type: Percent, value: 10, periodSeconds: 60 }
        - { type: Pods, value: 5, periodSeconds: 60 }`);
    const perMinute = run(spec, 100, () => 10, 4 * 14).filter((_, i) => i % 4 === 0);
    // At 40 replicas 10% is 4 < 5 pods: 36, then trunc(32.4) = 32.
    expect(perMinute.slice(0, 14)).toEqual([95, 90, 85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 36, 32]);
  });

  it("selectPolicy Disabled turns scale-down off", () => {
    const spec = hpa(`  behavior:
    scaleDown:
      selectPolicy: Disabled`);
    expect(run(spec, 50, () => 1, 40).every((r) => r === 50)).toBe(true);
  });

  it("scale-down stabilization 300 s: the highest recommendation of the last 5 minutes holds", () => {
    const spec = hpa(`  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300`);
    const replicas = run(spec, 10, (t) => (t < 60 ? 10 : 5), 30);
    const t = (i: number) => i * SYNC_PERIOD_S;
    // The last "10" was recorded at t = 45 s; the window at t is (t − 300, t], so from t = 345 s it is out.
    for (let i = 0; i < 30; i++) expect(replicas[i]).toBe(t(i) < 345 ? 10 : 5);
  });

  it("default behavior: no scale-up stabilization, the larger of 100% and 4 pods per 15 s", () => {
    const spec = hpa("");
    expect(spec.behavior.scaleUp.stabilizationWindowSeconds).toBe(0);
    expect(run(spec, 1, () => 100, 4)).toEqual([5, 10, 20, 40]);
  });

  it("the seed's HPA: +100% per 60 s once 30 s of recommendations agree, −10% per 60 s after 300 s", () => {
    const seed = parseHpa(readFileSync("deploy/k8s/ranking-hpa.yaml", "utf8"));
    const up = run(seed, 100, () => 1000, 12);
    // t=0,15: the window still holds the initial 100; t=30: 200; a minute later 400, then 800.
    expect(up).toEqual([100, 100, 200, 200, 200, 200, 400, 400, 400, 400, 800, 800]);
    for (let i = 4; i < up.length; i++) expect(up[i]).toBeLessThanOrEqual(2 * up[i - 4]);
    const down = run(seed, 1000, () => 100, 40);
    expect(down.slice(0, 20).every((r) => r === 1000)).toBe(true); // 300 s of stabilization
    expect(down[20]).toBe(900);
    expect(down[24]).toBe(810);
  });

  it("current outside [min, max] is brought back first", () => {
    const spec = hpa("", 100, 1000);
    expect(reconcile(spec, initialHpaState(), 0, 50, [60]).desired).toBe(100);
    expect(reconcile(spec, initialHpaState(), 0, 1200, [2000]).desired).toBe(1000);
  });
});
