// Regional trending from the timelines: the videos this region's users viewed and liked most in a recent
// window (issue 14 item 4), not a static column. Score = views + 4 × likes − 4 × unlikes over the last
// 24 h of event time (a like is a stronger signal than a view, and an undone like cancels it). Removed or
// blocked videos are dropped. When the window holds fewer than `limit` videos (a fresh stack, a quiet
// region) the rest is filled from the seeded static popularity (the region's uploads by `views`), so the
// list never runs short.
//
// This computes; callers cache (origin/candidates.ts `trendingIds`: per isolate and in Redis for
// TRENDING.cacheTtlS), so it runs about once a minute per region, not per request.
import type { SqlClient } from "./postgres.ts";
import type { TimelineStore, TypeCounts } from "./types.ts";
import { HOUR_MS } from "./buckets.ts";

export const TRENDING = {
  /** Window of event time counted (ms). */
  windowMs: 24 * HOUR_MS,
  weights: { view: 1, like: 4, unlike: -4 } satisfies TypeCounts,
  /** How long a computed list is reused (s). */
  cacheTtlS: 60,
  /** Per-statement timeout of the catalogue reads (ms). */
  timeoutMs: 2000,
} as const;

export interface TrendingResult {
  /** Decimal video ids, best first. */
  ids: string[];
  /** How many of them came from the timeline window (the rest is the static fill). */
  fromTimelines: number;
}

/**
 * The top `limit` trending video ids of `region` at `nowMs`. Rejects when the timeline store or the
 * catalogue query fails (callers fall back to their cached copy).
 */
export async function regionalTrending(store: TimelineStore, catalog: SqlClient, region: string, limit: number, nowMs = Date.now()): Promise<TrendingResult> {
  const top = await store.top({ region, fromMs: nowMs - TRENDING.windowMs, toMs: nowMs, weights: TRENDING.weights, limit });
  const ranked = top.filter((t) => t.score > 0).map((t) => t.videoId);
  let live: string[] = [];
  if (ranked.length) {
    const rows = await catalog.query<{ video_id: string }>(
      `SELECT video_id::text FROM videos WHERE video_id = ANY($1::bigint[]) AND status = 'active'`, [ranked], TRENDING.timeoutMs);
    const active = new Set(rows.map((r) => String(r.video_id)));
    live = ranked.filter((id) => active.has(id));
  }
  if (live.length >= limit) return { ids: live.slice(0, limit), fromTimelines: limit };
  const fill = await catalog.query<{ video_id: string }>(
    `SELECT video_id::text FROM videos WHERE status = 'active' AND upload_region = $1 ORDER BY views DESC LIMIT $2`,
    [region, limit], TRENDING.timeoutMs);
  const seen = new Set(live);
  const ids = [...live];
  for (const r of fill) {
    if (ids.length >= limit) break;
    const id = String(r.video_id);
    if (!seen.has(id)) ids.push(id), seen.add(id);
  }
  return { ids, fromTimelines: live.length };
}
