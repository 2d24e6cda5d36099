// Traffic of one simulated day, per region and second: diurnal edge load, a viral spike and the loss of
// a region, turned into the load each tier sees. Pure functions of (scenario, model, region, t).
//   edge requests = trough + (peak − trough) · (1 + cos(2π (hour − peakHour) / 24)) / 2
//   feed reads = edge · feedShare; a signed-in first page starts a new ranked chain = one ranking call:
//   rank calls = feed · (1 − anonymousShare) · (1 − continueChain)  (Zipf replay mix, bench/zipf-replay.ts)
//   origin requests = edge · (1 − edge hit rate)                      (measured by the Zipf replay)
// Viral spike: one video's reads × multiplier. Its base share of video reads is the top rank of a Zipf
// (s = 1) popularity over the replay's catalogue; the extra reads are edge hits on one hot key (the
// coalescer lets ≤ 1 origin fetch per PoP per TTL.edgeVideo through), and each extra view brings
// `followOnFeedPerView` first-page feed reads (new sessions opening the app from a shared link).
// Region loss (edge/region-health-config.ts timings): at `atS` the region's origin stops answering; after
// failuresToRemove probes + anti-flap it is removed and the others take `failoverMultiplier` × their edge
// load; when it is back it is re-added at recoveryWeight and gets full weight after fullWeightAfterMs.
// Failed-over signed-in users get the healthy region's non-personal feed (edge/feed-route.ts, DESIGN §3):
// no ranking calls, unless `failoverRanked` (the worst case where failover reads were personal).

export interface RegionDay {
  /** Edge requests per second (feed + video metadata) at the region's daily peak and trough. */
  peakRps: number;
  troughRps: number;
  /** Hour of the peak (UTC, 0–24). */
  peakHourUtc: number;
}

export interface SpikeEvent {
  region: string;
  atS: number;
  durationS: number;
  multiplier: number;
  followOnFeedPerView: number;
}

export interface RegionLossEvent {
  region: string;
  atS: number;
  /** Time from the outage to the region answering probes again (s). */
  downS: number;
  failoverMultiplier: number;
  failoverRanked: boolean;
}

export interface DayScenario {
  id: string;
  title: string;
  regions: Record<string, RegionDay>;
  spike?: SpikeEvent;
  loss?: RegionLossEvent;
}

/** Measured and configured constants the traffic model needs (see simulate-day.ts for their sources). */
export interface TrafficModel {
  edgeHitRate: number;
  feedShare: number;
  anonymousShare: number;
  continueChain: number;
  /** Share of video reads going to the most popular video (Zipf top rank). */
  topVideoShare: number;
  popsPerRegion: number;
  edgeVideoTtlS: number;
  /** Outage → removal (s): failuresToRemove × probeInterval + antiFlap. */
  detectS: number;
  recoveryWeight: number;
  fullWeightAfterS: number;
}

export interface Demand {
  /** Requests reaching the region's PoPs after failover routing (/s). */
  edgeRps: number;
  edgeHitRps: number;
  /** Requests the region's origin answers (/s). */
  originRps: number;
  /** Calls to the region's ranking service (/s). */
  rankCallsPerS: number;
  /** Routing weight of the region (0 removed, recoveryWeight while recovering, 1 otherwise). */
  weight: number;
}

export const DAY_S = 86_400;

/** Top-rank share of a Zipf(s = 1) popularity over n items: 1 / H(n). */
export function zipfTopShare(n: number): number {
  let h = 0;
  for (let k = 1; k <= n; k++) h += 1 / k;
  return 1 / h;
}

/** Diurnal edge load of a region at time t (s from 00:00 UTC, any day). */
export function diurnal(d: RegionDay, t: number): number {
  const hour = (((t % DAY_S) + DAY_S) % DAY_S) / 3600;
  return d.troughRps + ((d.peakRps - d.troughRps) * (1 + Math.cos((2 * Math.PI * (hour - d.peakHourUtc)) / 24))) / 2;
}

/** Routing weight of `region` at t under the scenario's region loss (1 when unaffected). */
export function weightAt(s: DayScenario, m: TrafficModel, region: string, t: number): number {
  const l = s.loss;
  if (!l || l.region !== region || t < l.atS) return 1;
  if (t < l.atS + l.downS) return t < l.atS + m.detectS ? 1 : 0;
  return t < l.atS + l.downS + m.fullWeightAfterS ? m.recoveryWeight : 1;
}

/** Load of every tier of `region` at second t. */
export function demandAt(s: DayScenario, m: TrafficModel, region: string, t: number): Demand {
  const base = diurnal(s.regions[region], t);
  const rankShare = m.feedShare * (1 - m.anonymousShare) * (1 - m.continueChain);
  const weight = weightAt(s, m, region, t);
  let edge = base;
  let origin = base * (1 - m.edgeHitRate);
  let rank = base * rankShare;
  const l = s.loss;
  if (l && l.region === region && t >= l.atS && t < l.atS + l.downS) {
    // Down (detected or not): the edge answers from cache / the emergency page; nothing reaches the origin.
    origin = 0;
    rank = 0;
  } else if (l && l.region !== region && t >= l.atS + m.detectS) {
    const lostWeight = weightAt(s, m, l.region, t);
    const extra = base * (l.failoverMultiplier - 1) * (1 - lostWeight);
    edge += extra;
    // Failed-over reads: video metadata as usual; feed reads are the region's shared anonymous chain
    // (cached at the edge, one origin fetch per PoP per TTL) unless they are ranked.
    origin += extra * (1 - m.feedShare) * (1 - m.edgeHitRate) + (l.failoverRanked ? extra * m.feedShare * (1 - m.edgeHitRate) : 0);
    rank += l.failoverRanked ? extra * rankShare : 0;
  } else if (l && l.region === region && weight < 1) {
    edge *= weight;
    origin *= weight;
    rank *= weight;
  }
  const sp = s.spike;
  if (sp && sp.region === region && t >= sp.atS && t < sp.atS + sp.durationS) {
    const extraViews = (sp.multiplier - 1) * m.topVideoShare * base * (1 - m.feedShare);
    const followOn = extraViews * sp.followOnFeedPerView;
    edge += extraViews + followOn;
    origin += m.popsPerRegion / m.edgeVideoTtlS + followOn * (1 - m.anonymousShare);
    rank += followOn * (1 - m.anonymousShare);
  }
  return { edgeRps: edge, edgeHitRps: Math.max(0, edge - origin), originRps: origin, rankCallsPerS: rank, weight };
}
