// The seed's scaling-dimensions table beyond the ranking pods, evaluated on a simulated day's per-minute
// load: Redis memory (cache nodes at 80%), database reads (read replicas on QPS), storage growth (shards
// at 70%), the upload encoding queue (encoders at queue depth > 1000) and the edge (PoPs at 50 ms).
// Unit sizes are computed from the code's formats where the code has one (a ranked chain's JSON), the
// rest are stated assumptions (UNITS). Estimates of volume, not simulations of those systems.
import type { Calibration } from "./calibration.ts";
import { hitRate } from "./calibration.ts";
import type { DeployedConfig } from "./config.ts";
import type { DayResult } from "./simulate-day.ts";

/** Assumed unit sizes and capacities (not in the repository). */
export const UNITS = {
  /** Usable memory of one cache node (ElastiCache cache.r7g.xlarge: 26.32 GiB). */
  cacheNodeBytes: 26.32 * 2 ** 30,
  /** Video feature keys resident in the feature store (hot catalogue), and bytes per key. */
  videoFeatureKeys: 2_000_000,
  featureBytes: 400,
  /** Simple indexed reads one Postgres read replica serves per second. */
  replicaReadsPerS: 20_000,
  /** Interaction rows written per feed page read (one view/skip per item of a 10-item page). */
  rowsPerFeedRead: 10,
  rowBytes: 120,
  /** Storage of one shard and its fill at the start of the day. */
  shardBytes: 16 * 2 ** 40,
  shardFillAtStart: 0.5,
  /** Uploads per edge request, encode time per upload (s) per encoder, encoder start-up (s). */
  uploadsPerRequest: 1 / 20_000,
  encodeS: 20,
  encoderStartS: 120,
};

/** JSON size of one stored chain (origin/chains.ts format) of `length` items. */
export function chainBytes(length: number): number {
  const items = Array.from({ length }, (_, i) => [`v${10_000_000 + i * 7919}`, 0.123456789 + i / 1e6, i % 3 ? "similar" : "following"]);
  return JSON.stringify({ u: "u12345678", mv: "model-2025-01-01T00-00-00-000Z", src: "origin", at: 1_700_000_000_000, items }).length;
}

export interface TierRow {
  dimension: string;
  rule: string;
  driver: string;
  peak: string;
  needed: string;
}

const rolling = (v: Float64Array, minutes: number) => {
  const out = new Float64Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    sum += v[i];
    if (i >= minutes) sum -= v[i - minutes];
    out[i] = sum;
  }
  return out;
};
const max = (v: ArrayLike<number>) => Math.max(...Array.from(v));
const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
const k = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));

/** The scaling-table rows of one region for one simulated day. */
export function tierRows(r: DayResult, region: string, cal: Calibration, cfg: DeployedConfig): TierRow[] {
  const s = r.series[region];
  const rows: TierRow[] = [];
  // Redis: chains live TTL.appFeedFallback, user features TTL.featureUser (one per ranking call, an upper bound).
  const chain = chainBytes(cfg.chainLength);
  const perMinute = (v: Float64Array, bytes: number) => Float64Array.from(v, (x) => x * 60 * bytes);
  const chains = rolling(perMinute(s.rankCallsPerS, chain), Math.round(cfg.ttl.appFeedFallback / 60));
  const users = rolling(perMinute(s.rankCallsPerS, UNITS.featureBytes), Math.round(cfg.ttl.featureUser / 60));
  const mem = Float64Array.from(chains, (c, i) => c + users[i] + UNITS.videoFeatureKeys * UNITS.featureBytes);
  rows.push({
    dimension: "Cache nodes (Redis)", rule: "add at 80% memory",
    driver: `chains (${(chain / 1024).toFixed(1)} KiB each, TTL ${cfg.ttl.appFeedFallback} s) + user features (TTL ${cfg.ttl.featureUser} s) + ${k(UNITS.videoFeatureKeys)} video features`,
    peak: gb(max(mem)), needed: `${Math.ceil(max(mem) / (0.8 * UNITS.cacheNodeBytes))} nodes`,
  });
  // Database reads: app-cache misses of origin requests + one batched feature-store miss query per ranking call.
  const app = hitRate(cal.zipf.app);
  const feature = hitRate(cal.zipf.feature);
  const qps = Float64Array.from(s.originRps, (o, i) => o * (1 - app) + s.rankCallsPerS[i] * (1 - feature ** cfg.candidatesPerRankCall));
  rows.push({
    dimension: "Read replicas (Postgres)", rule: "on QPS",
    driver: `origin requests × ${((1 - app) * 100).toFixed(1)}% app-cache misses + 1 feature query per ranking call`,
    peak: `${k(max(qps))} reads/s`, needed: `${Math.ceil(max(qps) / UNITS.replicaReadsPerS)} replicas (${k(UNITS.replicaReadsPerS)}/s each)`,
  });
  // Storage: interaction rows of the day, spread over the shards.
  const feedReads = s.edgeRps.reduce((a, e) => a + e * 60, 0) * cal.zipf.mix.feedShare;
  const dayBytes = feedReads * UNITS.rowsPerFeedRead * UNITS.rowBytes;
  const perShard = dayBytes / cfg.shards;
  const daysTo70 = ((0.7 - UNITS.shardFillAtStart) * UNITS.shardBytes) / perShard;
  rows.push({
    dimension: `Shards (${cfg.shards} per region)`, rule: "add at 70% storage",
    driver: `${UNITS.rowsPerFeedRead} interaction rows × ${UNITS.rowBytes} B per feed read`,
    peak: `${(dayBytes / 2 ** 40).toFixed(1)} TiB/day`, needed: `70% reached in ${daysTo70.toFixed(1)} days from ${UNITS.shardFillAtStart * 100}% full`,
  });
  // Encoders: fluid queue, the rule adds 20% encoders (ready after encoderStartS) while depth > 1000.
  let depth = 0;
  let encoders = Math.max(1, Math.ceil((s.edgeRps[0] * UNITS.uploadsPerRequest * UNITS.encodeS) / 0.7));
  const pending: { at: number; n: number }[] = [];
  let peakDepth = 0;
  let peakEnc = encoders;
  for (let i = 0; i < s.edgeRps.length; i++) {
    for (const p of pending.filter((p) => p.at <= i)) encoders += p.n;
    pending.splice(0, pending.length, ...pending.filter((p) => p.at > i));
    depth = Math.max(0, depth + 60 * (s.edgeRps[i] * UNITS.uploadsPerRequest - encoders / UNITS.encodeS));
    if (depth > 1000 && pending.length === 0) pending.push({ at: i + Math.ceil(UNITS.encoderStartS / 60), n: Math.ceil(encoders * 0.2) });
    else if (depth === 0 && (s.edgeRps[i] * UNITS.uploadsPerRequest * UNITS.encodeS) / encoders < 0.5) encoders = Math.max(1, Math.floor(encoders * 0.95));
    peakDepth = Math.max(peakDepth, depth);
    peakEnc = Math.max(peakEnc, encoders);
  }
  rows.push({
    dimension: "Encoders", rule: "add at queue depth > 1000",
    driver: `${k(UNITS.uploadsPerRequest * max(s.edgeRps))} uploads/s at peak, ${UNITS.encodeS} s each`,
    peak: `queue depth ${k(peakDepth)}`, needed: `${peakEnc} encoders`,
  });
  const hit = Float64Array.from(s.edgeRps, (e, i) => e - s.originRps[i]);
  rows.push({
    dimension: "PoPs (Cloudflare)", rule: "add at 50 ms", driver: `edge hit rate ${(hitRate(cal.zipf.edge) * 100).toFixed(1)}% (Zipf replay)`,
    peak: `${k(max(s.edgeRps))} req/s at the edge, ${k(max(hit))} answered there`, needed: "not modelled: PoPs are Cloudflare's anycast network",
  });
  rows.push({
    dimension: "GPU nodes", rule: "add on latency > 40 ms", driver: "pods the HPA asks for (1 GPU each), via the cluster autoscaler",
    peak: `${max(s.replicas)} pods`, needed: `${max(s.nodes)} nodes`,
  });
  return rows;
}
