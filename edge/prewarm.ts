import type { TrendingResponse } from "../shared/contract.ts";
import { REGION_VALUES, type Region } from "../shared/regions.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { renderEmergencyPage } from "./emergency-page.ts";
import { KV } from "./kv-keys.ts";
import { callOrigin } from "./origin-client.ts";

// Pre-warm job (Cron trigger + POST /v1/admin/prewarm): pull each region's trending list from its
// origin into KV, put the hottest videos' metadata into the hot pool, and regenerate the static
// emergency page + JSON feed that level 5 serves. A region that fails keeps its previous KV copy.

export const TRENDING_COUNT = 100;
const HOT_POOL = 50;
const KV_TTL_S = 7 * 86_400; // long: stale trending beats no trending when origins are down

/** The hot pool holds the same JSON the video endpoint serves, so it can stand in for it. */
async function warmHotPool(env: EdgeBindings, region: Region, ids: string[]): Promise<void> {
  const cfg = edgeConfig(env);
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(
      ids.slice(i, i + 10).map(async (id) => {
        const res = await callOrigin(cfg, region, `/internal/v1/videos/${id}`).catch(() => null);
        if (res?.ok) await env.FYP_KV.put(KV.hotVideo(id), await res.text(), { expirationTtl: KV_TTL_S });
        else await res?.body?.cancel();
      }),
    );
  }
}

export interface PrewarmReport {
  at: string;
  regions: Record<Region, { ok: boolean; items?: number; error?: string; ms: number }>;
}

export async function prewarm(env: EdgeBindings): Promise<PrewarmReport> {
  const cfg = edgeConfig(env);
  const report: PrewarmReport = { at: new Date().toISOString(), regions: {} as PrewarmReport["regions"] };
  await Promise.all(
    REGION_VALUES.map(async (region) => {
      const t0 = Date.now();
      try {
        const res = await callOrigin(cfg, region, `/internal/v1/trending?count=${TRENDING_COUNT}`);
        if (!res.ok) throw new Error(`status ${res.status}`);
        const t = (await res.json()) as TrendingResponse;
        const kvCopy: TrendingResponse = { ...t, source: "kv" };
        const writes: Promise<unknown>[] = [
          env.FYP_KV.put(KV.trending(region), JSON.stringify(kvCopy), { expirationTtl: KV_TTL_S }),
          env.FYP_KV.put(KV.emergencyJson(region), JSON.stringify({ ...kvCopy, source: "emergency" }), { expirationTtl: KV_TTL_S }),
          env.FYP_KV.put(KV.emergencyHtml(region), renderEmergencyPage(region, kvCopy), { expirationTtl: KV_TTL_S }),
        ];
        writes.push(warmHotPool(env, region, t.items.slice(0, HOT_POOL).map((i) => i.video_id)));
        await Promise.all(writes);
        report.regions[region] = { ok: true, items: t.items.length, ms: Date.now() - t0 };
      } catch (e) {
        report.regions[region] = { ok: false, error: (e as Error).message, ms: Date.now() - t0 };
      }
    }),
  );
  await env.FYP_KV.put(KV.prewarmMeta, JSON.stringify(report));
  return report;
}
