// The HPA's per-metric replica calculation, as kube-controller-manager does it
// (pkg/controller/podautoscaler/replica_calculator.go: GetResourceReplicas / calcPlainMetricReplicas,
// groupPods; docs: "Algorithm details" of the HorizontalPodAutoscaler concept page):
//   ratio = average metric over the pods that have one and are not set aside / target;
//   no set-aside or missing pods: |1 − ratio| ≤ tolerance → keep current, else ceil(ratio × ready pods);
//   otherwise missing pods count as the target (scale-down) or 0 (scale-up), set-aside (not-yet-ready)
//   pods count as 0 on a scale-up; the ratio is recomputed, and a change is made only if it is outside
//   the tolerance and keeps the direction: ceil(newRatio × pods considered).
// Set aside: Pending pods for every metric; for CPU also pods that are not Ready (initialising).
// Pods are given in groups of identical pods, which is how the simulator holds them.

/** Default --horizontal-pod-autoscaler-tolerance. */
export const DEFAULT_TOLERANCE = 0.1;

export interface MetricPods {
  /** Pods counted as ready that report the metric: (count, per-pod value) groups. */
  samples: { count: number; value: number }[];
  /** Pods set aside (Pending; for CPU also not Ready). */
  ignored: number;
  /** Pods (not set aside) that report no value. */
  missing: number;
}

export type TargetKind = "Utilization" | "AverageValue";

/**
 * Desired replicas for one metric, or null when no counted pod reports it (the controller then cannot
 * use this metric). `target` is the averageUtilization (percent) or averageValue of the HPA spec; for
 * Utilization, sample values are percent of the pod's request.
 */
export function replicasForMetric(currentReplicas: number, kind: TargetKind, target: number, pods: MetricPods, tolerance = DEFAULT_TOLERANCE): number | null {
  const counted = pods.samples.reduce((s, g) => s + g.count, 0);
  if (counted === 0) return null;
  const ratioOf = (groups: { count: number; value: number }[]) => {
    const n = groups.reduce((s, g) => s + g.count, 0);
    const sum = groups.reduce((s, g) => s + g.count * g.value, 0);
    // Utilization is truncated to whole percent (metrics.GetResourceUtilizationRatio); averages of plain
    // metrics are taken in milli-units with integer division (GetMetricUsageRatio).
    const avg = kind === "Utilization" ? Math.floor(sum / n) : Math.floor((sum * 1000) / n) / 1000;
    return avg / target;
  };
  const usageRatio = ratioOf(pods.samples);
  const rebalanceIgnored = pods.ignored > 0 && usageRatio > 1;
  if (!rebalanceIgnored && pods.missing === 0) {
    if (Math.abs(1 - usageRatio) <= tolerance) return currentReplicas;
    return Math.ceil(usageRatio * counted);
  }
  const groups = [...pods.samples];
  if (pods.missing > 0) {
    if (usageRatio < 1) groups.push({ count: pods.missing, value: target });
    else groups.push({ count: pods.missing, value: 0 });
  }
  if (rebalanceIgnored) groups.push({ count: pods.ignored, value: 0 });
  const newRatio = ratioOf(groups);
  if (Math.abs(1 - newRatio) <= tolerance || (usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1)) return currentReplicas;
  const considered = groups.reduce((s, g) => s + g.count, 0);
  const next = Math.ceil(newRatio * considered);
  if ((newRatio < 1 && next > currentReplicas) || (newRatio > 1 && next < currentReplicas)) return currentReplicas;
  return next;
}
