import type { Redis } from "@upstash/redis/cloudflare";
import type { Db } from "./db.ts";
import { readRetrying } from "./db-retry.ts";
import { IsolateCache } from "./isolate-cache.ts";
import { counterKey } from "./live-counters.ts";

// Live view/like counts for `stats` in GET /internal/v1/videos/:id, trending and feed items (issue 14
// item 3; issue 12 §7 "live counters shown in stats"). The video features that render an item are cached
// for up to 30 s per isolate and 6 h in Redis, so their counts are not what a reader should see. Here:
//
//   stats = merged CRDT counts of the row (videos.views / videos.likes: seed baseline + Σ per-region
//           counters, shared/db/replication-schema.ts) + this region's unflushed Redis increments
//           (origin/live-counters.ts: views, likes − unlikes, not yet moved by origin/counter-flush.ts)
//
// read in that order, Postgres first, then Redis: a flush takes the Redis deltas (GETDEL) before its
// Postgres upsert commits, so a delta is never in both reads (at worst a read overlapping a flush misses
// it, for that one read). Kept per isolate for LIVE_STATS_MS, so a popular video costs at most one read of
// each per isolate per 2 s. Other regions' increments show once their flush and replication landed.
// Failure semantics: never fails a read. Without Postgres (level 3, `db: false`, or an error) the
// caller's cached counts are the base; without Redis the row alone.

/** How long an isolate reuses a video's live counts (ms): "fresh within a few seconds". */
export const LIVE_STATS_MS = 2000;
const QUERY_TIMEOUT_MS = 100;
export interface Counts {
  views: number;
  likes: number;
}
const memo = new IsolateCache<Counts>(20_000, LIVE_STATS_MS);
/** Forget this isolate's live counts (tests). */
export const clearLiveStats = () => memo.clear();

/**
 * Live counts of `base`'s videos (id → the counts the caller already has, e.g. from cached features).
 * `useDb` false: Postgres is not touched (level 3). Returns a new map with an entry for every id of `base`.
 */
export async function liveCounts(db: Db, redis: Redis, base: Map<string, Counts>, useDb: boolean, now = Date.now()): Promise<Map<string, Counts>> {
  const out = new Map<string, Counts>();
  const ids: string[] = [];
  for (const [id, c] of base) {
    const m = memo.get(id, now);
    if (m) out.set(id, m);
    else {
      ids.push(id);
      out.set(id, c);
    }
  }
  if (!ids.length) return out;
  const rows = new Map<string, Counts>();
  if (useDb) {
    try {
      const r = await readRetrying(db).query<{ video_id: string; views: string; likes: string }>(
        "SELECT video_id, views, likes FROM videos WHERE video_id = ANY($1::bigint[])", [ids], QUERY_TIMEOUT_MS,
      );
      for (const x of r) rows.set(String(x.video_id), { views: Number(x.views), likes: Number(x.likes) });
    } catch {
      /* the cached counts stay the base */
    }
  }
  let deltas: (string | number | null)[] = [];
  try {
    deltas = await redis.mget<(string | number | null)[]>(...ids.flatMap((id) => [counterKey(id, "views"), counterKey(id, "likes"), counterKey(id, "unlikes")]));
  } catch {
    deltas = [];
  }
  ids.forEach((id, i) => {
    const b = rows.get(id) ?? base.get(id)!;
    const d = (k: number) => Number(deltas[3 * i + k] ?? 0) || 0;
    const c = { views: b.views + d(0), likes: b.likes + d(1) - d(2) };
    out.set(id, c);
    // Only a full read (the row and the deltas) is kept: a fallback must not outlive its cause.
    if (rows.has(id) && deltas.length) memo.set(id, c, now);
  });
  return out;
}

/** `values` with every video's counts replaced by its live counts (the cached objects are not modified). */
export async function withLiveCounts<V extends Counts>(db: Db, redis: Redis, values: Map<string, V>, useDb: boolean): Promise<Map<string, V>> {
  const live = await liveCounts(db, redis, values, useDb);
  const out = new Map<string, V>();
  for (const [id, v] of values) {
    const c = live.get(id)!;
    out.set(id, c.views === v.views && c.likes === v.likes ? v : { ...v, views: c.views, likes: c.likes });
  }
  return out;
}
