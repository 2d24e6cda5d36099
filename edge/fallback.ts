import type { KVNamespace } from "@cloudflare/workers-types";
import type { FeedResponse, TrendingResponse } from "../shared/contract.ts";
import { type DegradationLevel, levelPolicy } from "../shared/degradation.ts";
import { REGION_VALUES, type Region } from "../shared/regions.ts";
import { KV } from "./kv-keys.ts";

// Feeds the edge can answer without any origin: the pre-warmed trending list (levels ≤ 4) and the
// pre-generated emergency feed (level 5). Both come from KV, written by the pre-warm cron.

export async function trendingFromKv(kv: KVNamespace, region: Region): Promise<TrendingResponse | null> {
  const own = await kv.get<TrendingResponse>(KV.trending(region), "json");
  if (own) return own;
  for (const r of REGION_VALUES) {
    if (r === region) continue;
    const other = await kv.get<TrendingResponse>(KV.trending(r), "json");
    if (other) return other;
  }
  return null;
}

/** The pre-warmed trending list as a feed page served at `level` (`limited` from that level's policy row); null when KV has none. */
export async function trendingFeed(kv: KVNamespace, region: Region, count: number, level: DegradationLevel): Promise<FeedResponse | null> {
  const t = await trendingFromKv(kv, region);
  if (!t) return null;
  return {
    items: t.items.slice(0, count).map((i) => ({ ...i, reason: "trending" as const })),
    next_cursor: null, source: "trending", region, degradation_level: level, limited: levelPolicy(level).limited,
    model_version: null, generated_at: t.generated_at,
  };
}

export async function emergencyFeed(kv: KVNamespace, region: Region, count: number): Promise<FeedResponse> {
  let t = await kv.get<TrendingResponse>(KV.emergencyJson(region), "json");
  for (const r of REGION_VALUES) if (!t) t = await kv.get<TrendingResponse>(KV.emergencyJson(r), "json");
  return {
    items: (t?.items ?? []).slice(0, count).map((i) => ({ ...i, reason: "emergency" as const })),
    next_cursor: null, source: "emergency", region, degradation_level: 5, limited: true,
    model_version: null, generated_at: t?.generated_at ?? new Date().toISOString(),
  };
}
