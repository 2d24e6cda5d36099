import { RETRY } from "../shared/config.ts";
import type { TrendingResponse } from "../shared/contract.ts";
import { REGION_VALUES, type Region } from "../shared/regions.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { renderEmergencyPage } from "./emergency-page.ts";
import { HOT_POOL, writeHotPool } from "./hot-pool.ts";
import { KV } from "./kv-keys.ts";
import { callOrigin } from "./origin-client.ts";

// Pre-warm job (Cron trigger + POST /v1/admin/prewarm): pull each region's trending list from its
// origin into KV, push the metadata of each region's hottest videos into the hot pool every edge reads
// (edge/hot-pool.ts), and regenerate the static emergency page + JSON feed that level 5 serves. A region
// that fails keeps its previous KV copy (and its videos stay in the pool while another region has them).

export const TRENDING_COUNT = 100;
const KV_TTL_S = 7 * 86_400; // long: stale trending beats no trending when origins are down
/** The hot-pool read is one bulk batch read, not a page view: a longer per-try timeout than the CDN's 2 s. */
const HOT_POOL_POLICY = { ...RETRY.cdnOrigin, perTryTimeoutMs: 15_000 };

/** The region's hottest videos: video id → the JSON GET /v1/videos/:id serves. */
async function hotVideos(env: EdgeBindings, region: Region): Promise<Map<string, string>> {
  const res = await callOrigin(edgeConfig(env), region, `/internal/v1/hot-videos?count=${HOT_POOL.perRegion}&head=${HOT_POOL.headPerRegion}`, {}, HOT_POOL_POLICY);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`hot videos: status ${res.status}`);
  }
  const b = (await res.json()) as { videos: { video_id: string; body: string }[] };
  return new Map(b.videos.map((v) => [v.video_id, v.body]));
}

export interface PrewarmReport {
  at: string;
  regions: Record<Region, { ok: boolean; items?: number; error?: string; ms: number }>;
  /** Videos pushed to the hot pool (all regions merged); absent when no region answered. */
  hot_pool?: number;
}

export async function prewarm(env: EdgeBindings): Promise<PrewarmReport> {
  const cfg = edgeConfig(env);
  const report: PrewarmReport = { at: new Date().toISOString(), regions: {} as PrewarmReport["regions"] };
  const pool = new Map<string, string>();
  let poolRegions = 0;
  await Promise.all(
    REGION_VALUES.map(async (region) => {
      const t0 = Date.now();
      try {
        const res = await callOrigin(cfg, region, `/internal/v1/trending?count=${TRENDING_COUNT}`);
        if (!res.ok) throw new Error(`status ${res.status}`);
        const t = (await res.json()) as TrendingResponse;
        const kvCopy: TrendingResponse = { ...t, source: "kv" };
        const [hot] = await Promise.all([
          hotVideos(env, region).catch((e: Error) => (console.warn(`prewarm ${region}: ${e.message}`), null)),
          env.FYP_KV.put(KV.trending(region), JSON.stringify(kvCopy), { expirationTtl: KV_TTL_S }),
          env.FYP_KV.put(KV.emergencyJson(region), JSON.stringify({ ...kvCopy, source: "emergency" }), { expirationTtl: KV_TTL_S }),
          env.FYP_KV.put(KV.emergencyHtml(region), renderEmergencyPage(region, kvCopy), { expirationTtl: KV_TTL_S }),
        ]);
        if (hot) {
          poolRegions++;
          for (const [vid, body] of hot) if (!pool.has(vid)) pool.set(vid, body);
        }
        report.regions[region] = { ok: true, items: t.items.length, ms: Date.now() - t0 };
      } catch (e) {
        report.regions[region] = { ok: false, error: (e as Error).message, ms: Date.now() - t0 };
      }
    }),
  );
  // A region that failed drops out of this minute's pool (its videos are read from any region meanwhile);
  // with no region answering the previous pool stays.
  if (poolRegions > 0) {
    await writeHotPool(env.FYP_KV, pool, Date.now(), KV_TTL_S);
    report.hot_pool = pool.size;
  }
  await env.FYP_KV.put(KV.prewarmMeta, JSON.stringify(report));
  return report;
}
