// The simulated world: the day's traffic per region and its events, and the facts about the platform
// that no file of this repository holds (node sizes, start-up times, cluster-autoscaler defaults). Each
// number says where it comes from; everything the code deploys is read in config.ts, everything
// measured in calibration.ts. `buildSimParams` joins the three.
import { DEFAULT_TIMINGS } from "../../edge/region-health-config.ts";
import { hitRate, type Calibration } from "./calibration.ts";
import type { ClusterParams } from "./cluster.ts";
import type { DeployedConfig, HpaSpec } from "./config.ts";
import { buildLatencyTable, podModel, type LatencyTable } from "./latency-model.ts";
import { RANKING_BREAKER } from "../../shared/config.ts";
import type { SimParams } from "./simulate-day.ts";
import { zipfTopShare, type DayScenario, type RegionDay, type TrafficModel } from "./traffic.ts";

/**
 * Edge requests per second per region (feed pages + video metadata): an assumed internet-scale day
 * (≈ 0.9 M req/s at the global peak), evening peaks at ~21:00 local time, troughs at 30% of the peak.
 */
export const REGION_DAYS: Record<string, RegionDay> = {
  us: { peakRps: 300_000, troughRps: 90_000, peakHourUtc: 2 }, // 21:00 US Eastern
  eu: { peakRps: 250_000, troughRps: 75_000, peakHourUtc: 19 }, // 20:00 CET
  apac: { peakRps: 350_000, troughRps: 105_000, peakHourUtc: 13 }, // 21:00 UTC+8
};

/** Catalogue the Zipf replay draws videos from (bench/zipf-replay.ts default), for the top video's share. */
export const ZIPF_VIDEOS = 20_000;

/** Cloudflare PoPs serving one region's users (bounds the coalesced origin fetches of one hot key). */
export const POPS_PER_REGION = 100;

/**
 * GPU node pool and pod start-up. Not in the repository: an 8-GPU node (p4d/p5/a3 class) takes ~3 min
 * to join; a pod pulls the CUDA image (~30 s on a node that has the base layers) and loads the model
 * with CUDA init (~20 s, well inside the startupProbe's bound read from the Deployment). Cluster
 * autoscaler defaults: scan 10 s, scale-down-unneeded-time 10 min, scale-down-delay-after-add 10 min.
 */
export const NODE_POOL = { gpusPerNode: 8, nodeProvisionS: 180, imagePullS: 30, modelLoadS: 20, caScanS: 10, caUnneededS: 600, caDelayAfterAddS: 600 };

/** Prometheus scrape + adapter (and metrics-server) delay before the HPA sees a value (s). */
export const METRICS_LAG_S = 15;

/** Pre-roll before 00:00 UTC so the day starts from a settled HPA (s). */
export const PREROLL_S = 2 * 3600;

const atHour = (h: number) => Math.round(h * 3600);

/** The scenarios of the report: a plain day, the viral spike, the loss of a region (as designed, and with ranked failover). */
export function dayScenarios(): DayScenario[] {
  const regions = REGION_DAYS;
  // One extra viewer in five arrives through a shared link and opens the app's feed (a first page); the
  // others were scrolling anyway.
  const spike = { region: "apac", atS: atHour(REGION_DAYS.apac.peakHourUtc) - 600, durationS: 20 * 60, multiplier: 10, followOnFeedPerView: 0.2 };
  const loss = { region: "eu", atS: atHour(REGION_DAYS.eu.peakHourUtc) - 900, downS: 30 * 60, failoverMultiplier: 1.5, failoverRanked: false };
  return [
    { id: "normal", title: "Normal day", regions },
    { id: "spike", title: "Viral spike (10× one video, 20 min, apac at its peak)", regions, spike },
    { id: "region-loss", title: "Loss of eu at its peak (30 min, failover ×1.5, recovery 10% → 100% after 5 min)", regions, loss },
    { id: "region-loss-ranked", title: "Loss of eu, failover reads ranked (worst case: the others' ranking load ×1.5)", regions, loss: { ...loss, failoverRanked: true } },
  ];
}

/** The traffic model's constants: measured hit rates and mix (calibration), deployed TTLs and failover timings. */
export function trafficModel(cal: Calibration, deployed: DeployedConfig): TrafficModel {
  const t = DEFAULT_TIMINGS;
  return {
    edgeHitRate: hitRate(cal.zipf.edge),
    feedShare: cal.zipf.mix.feedShare,
    anonymousShare: cal.zipf.mix.anonymousShare,
    continueChain: cal.zipf.mix.continueChain,
    topVideoShare: zipfTopShare(ZIPF_VIDEOS),
    popsPerRegion: POPS_PER_REGION,
    edgeVideoTtlS: deployed.ttl.edgeVideo,
    detectS: (t.failuresToRemove * t.probeIntervalMs + t.antiFlapMs) / 1000,
    recoveryWeight: t.recoveryWeight,
    fullWeightAfterS: t.fullWeightAfterMs / 1000,
  };
}

export function clusterParams(deployed: DeployedConfig): ClusterParams {
  const d = deployed.deployment;
  if (NODE_POOL.imagePullS + NODE_POOL.modelLoadS > d.startupProbeBoundS) throw new Error("assumed start-up exceeds the Deployment's startupProbe bound");
  return { ...NODE_POOL, gpusPerPod: d.gpusPerPod, readinessPeriodS: d.readinessPeriodS, releaseS: d.preStopSleepS + 1 };
}

/** The latency table of one pod (built once per calibration; ~2 s). */
export function latencyTable(cal: Calibration, deployed: DeployedConfig): LatencyTable {
  return buildLatencyTable(podModel(cal, deployed.deployment, deployed.candidatesPerRankCall));
}

/** Everything simulateDay needs for one HPA spec. */
export function buildSimParams(deployed: DeployedConfig, cal: Calibration, table: LatencyTable, hpa: HpaSpec, o: { durationS?: number; prerollS?: number } = {}): SimParams {
  const model = podModel(cal, deployed.deployment, deployed.candidatesPerRankCall);
  return {
    regions: deployed.regions,
    hpa,
    table,
    cluster: clusterParams(deployed),
    traffic: trafficModel(cal, deployed),
    origin: {
      timeoutMs: deployed.rankTimeoutMs,
      retries: deployed.rankRetries,
      failureRatePct: RANKING_BREAKER.failureRateThreshold,
      slowCallRatePct: RANKING_BREAKER.slowCallRateThreshold,
      slowCallMs: RANKING_BREAKER.slowCallDurationMs,
      openS: RANKING_BREAKER.waitInOpenMs / 1000,
    },
    cpuMsPerCall: model.cpuMsPerCall,
    cpuRequestCores: deployed.deployment.cpuRequestCores,
    metricsLagS: METRICS_LAG_S,
    sloMs: deployed.slowCallMs,
    prerollS: o.prerollS ?? PREROLL_S,
    durationS: o.durationS,
  };
}
