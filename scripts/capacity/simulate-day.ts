// One simulated day (1 s steps) of every region under one HPA spec: traffic → ranking pods (latency,
// retries, breaker) → the HPA every sync period → pods and GPU nodes → per-minute series and a summary.
// A pre-roll before 00:00 UTC lets the HPA settle from minReplicas; events only happen within the day.
import type { HpaSpec } from "./config.ts";
import { RegionCluster, type ClusterParams } from "./cluster.ts";
import { quantile } from "./histogram.ts";
import { initialHpaState, reconcile, SYNC_PERIOD_S } from "./hpa.ts";
import { replicasForMetric, type MetricPods } from "./hpa-replicas.ts";
import type { LatencyTable } from "./latency-model.ts";
import { RankingRegion, type OriginPolicy } from "./ranking-region.ts";
import { DAY_S, demandAt, type DayScenario, type TrafficModel } from "./traffic.ts";

export interface SimParams {
  regions: readonly string[];
  hpa: HpaSpec;
  table: LatencyTable;
  cluster: ClusterParams;
  traffic: TrafficModel;
  origin: OriginPolicy;
  cpuMsPerCall: number;
  cpuRequestCores: number;
  metricsLagS: number;
  /** The latency objective the report judges by (ms). */
  sloMs: number;
  prerollS: number;
  /** Simulated length (s) from 00:00 UTC; a day unless a test shortens it. */
  durationS?: number;
}

/** Per-minute series of one region (index = minute of the day). */
export interface RegionSeries {
  replicas: Float64Array; // the Deployment's replicas (max within the minute)
  ready: Float64Array;
  nodes: Float64Array; // GPU nodes incl. provisioning (max within the minute)
  edgeRps: Float64Array;
  originRps: Float64Array;
  rankCallsPerS: Float64Array; // first-attempt calls wanted by the origins
  p99Ms: Float64Array; // of calls answered in the minute (NaN: none answered)
  breakerOpenS: Float64Array;
  failed: Float64Array; // calls that timed out / were refused, or not made (breaker open)
}

export interface RegionSummary {
  peakPods: number;
  peakReady: number;
  peakNodes: number;
  maxP99Ms: number;
  minutesOverSlo: number;
  breakerMinutes: number;
  podHours: number;
  nodeHours: number;
  failedPct: number;
  minReplicasSeen: number;
  maxReplicasSeen: number;
  /**
   * Highest replicas after a scale-up / replicas 60 s before it: the +100% per 60 s policy bounds this
   * by 2. (Relative to a lower count reached by a scale-down inside those 60 s it can be more: the
   * controller counts the period from its start, removals included.)
   */
  maxGrowthPerMinute: number;
}

export interface DayResult {
  scenario: DayScenario;
  minutes: number;
  series: Record<string, RegionSeries>;
  summary: Record<string, RegionSummary>;
}

const series = (m: number): RegionSeries => ({
  replicas: new Float64Array(m), ready: new Float64Array(m), nodes: new Float64Array(m), edgeRps: new Float64Array(m), originRps: new Float64Array(m),
  rankCallsPerS: new Float64Array(m), p99Ms: new Float64Array(m).fill(NaN), breakerOpenS: new Float64Array(m), failed: new Float64Array(m),
});

/** Pods of one phase mix as the HPA's metric pipeline groups them (hpa-replicas.ts). */
function metricPods(c: ReturnType<RegionCluster["counts"]>, readyValue: number, kind: "cpu" | "pods"): MetricPods {
  const pending = c.unscheduled + c.pulling;
  if (kind === "cpu") return { samples: c.ready > 0 ? [{ count: c.ready, value: readyValue }] : [], ignored: pending + c.loading + c.listening, missing: 0 };
  const samples = [];
  if (c.ready > 0) samples.push({ count: c.ready, value: readyValue });
  if (c.listening > 0) samples.push({ count: c.listening, value: 0 });
  return { samples, ignored: pending, missing: c.loading };
}

/** Simulates the scenario's day; returns per-minute series and per-region summaries. */
export function simulateDay(scenario: DayScenario, p: SimParams): DayResult {
  const duration = p.durationS ?? DAY_S;
  const minutes = Math.ceil(duration / 60);
  const start = -p.prerollS;
  const out: DayResult = { scenario, minutes, series: {}, summary: {} };
  for (const region of p.regions) {
    const s = series(minutes);
    // Start the pre-roll from pods at half their capacity for its load (within [min, max]), not from
    // minReplicas: an overloaded start makes the HPA overshoot, and a long scale-down window would carry
    // that artifact into the day.
    const initial = Math.min(p.hpa.maxReplicas, Math.max(p.hpa.minReplicas, Math.ceil(demandAt(scenario, p.traffic, region, start).rankCallsPerS / (0.5 * p.table.capacity))));
    const cluster = new RegionCluster(p.cluster, initial, start);
    const ranking = new RankingRegion(p.table, p.origin, p.cpuMsPerCall, p.cpuRequestCores, p.metricsLagS);
    const hpaState = initialHpaState();
    const history = new Float64Array(60).fill(initial);
    let replicas = initial;
    let podSeconds = 0;
    let nodeSeconds = 0;
    let wanted = 0;
    let failed = 0;
    let maxGrowth = 1;
    let minSeen = Infinity;
    let maxSeen = 0;
    for (let t = start; t < duration; t++) {
      cluster.tick(t);
      if (t % SYNC_PERIOD_S === 0 && t > start + 90) {
        const m = ranking.metricsAt(t);
        const c = cluster.counts();
        const desired = p.hpa.metrics.map((spec) =>
          spec.type === "Resource"
            ? replicasForMetric(c.total, "Utilization", spec.resource.target.averageUtilization, metricPods(c, m.cpuPct, "cpu"))
            : replicasForMetric(c.total, "AverageValue", spec.pods.target.averageValue, metricPods(c, m.p99Ms, "pods")),
        );
        replicas = reconcile(p.hpa, hpaState, t, c.total, desired).desired;
        cluster.scaleTo(replicas, t);
      }
      const c = cluster.counts();
      const d = demandAt(scenario, p.traffic, region, t);
      const r = ranking.step(t, d.rankCallsPerS, c.ready);
      const slot = ((t % 60) + 60) % 60;
      const before = history[slot]; // replicas 60 s ago (after that second's reconcile)
      const grew = replicas > history[(slot + 59) % 60];
      history[slot] = replicas;
      if (t < 0) continue;
      if (grew) maxGrowth = Math.max(maxGrowth, replicas / before);
      const minute = Math.floor(t / 60);
      minSeen = Math.min(minSeen, replicas);
      maxSeen = Math.max(maxSeen, replicas);
      s.replicas[minute] = Math.max(s.replicas[minute], replicas);
      s.ready[minute] = Math.max(s.ready[minute], c.ready);
      const nodes = cluster.nodes + cluster.provisioningNodes;
      s.nodes[minute] = Math.max(s.nodes[minute], nodes);
      s.edgeRps[minute] += d.edgeRps / 60;
      s.originRps[minute] += d.originRps / 60;
      s.rankCallsPerS[minute] += d.rankCallsPerS / 60;
      s.breakerOpenS[minute] += r.breakerOpen ? 1 : 0;
      const lost = r.breakerOpen ? d.rankCallsPerS : d.rankCallsPerS * r.failFraction;
      s.failed[minute] += lost;
      failed += lost;
      wanted += d.rankCallsPerS;
      podSeconds += c.total - c.unscheduled + c.terminating;
      nodeSeconds += nodes;
      if (t % 60 === 59) {
        const h = ranking.minuteHist(t - 59);
        if (h.some((x) => x > 0)) s.p99Ms[minute] = quantile(h, 0.99);
      }
    }
    out.series[region] = s;
    const p99s = Array.from(s.p99Ms).filter((x) => !Number.isNaN(x));
    out.summary[region] = {
      peakPods: Math.max(...s.replicas),
      peakReady: Math.max(...s.ready),
      peakNodes: Math.max(...s.nodes),
      maxP99Ms: p99s.length ? Math.max(...p99s) : NaN,
      minutesOverSlo: p99s.filter((x) => x > p.sloMs).length,
      breakerMinutes: Array.from(s.breakerOpenS).filter((x) => x > 0).length,
      podHours: podSeconds / 3600,
      nodeHours: nodeSeconds / 3600,
      failedPct: wanted > 0 ? (100 * failed) / wanted : 0,
      minReplicasSeen: minSeen,
      maxReplicasSeen: maxSeen,
      maxGrowthPerMinute: maxGrowth,
    };
  }
  return out;
}
