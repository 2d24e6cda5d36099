import type { Redis } from "@upstash/redis/cloudflare";
import type { Db } from "./db.ts";
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
// Failure semantics: never fails a read. One Postgres try of 100 ms, not the DB read row's four: the
// counts are an overlay with a fallback (the cached counts), not worth up to ~0.7 s of a page's time.
// Without Postgres (level 3, `useDb` false, or an error) the caller's cached counts are the base;
// without Redis the row alone.

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

/** The live counts of one video given the counts the caller already has (e.g. from cached features). */
export type LiveCounts = (id: string, cached: Counts) => Counts;

/**
 * Reads the live counts of `ids` (the memo, then Postgres, then Redis). `useDb` false: Postgres is not
 * touched (level 3) and the caller's cached counts are the base; `redis` null: not asked (level 2, Redis
 * known to be down). Never rejects.
 */
export async function readLiveCounts(db: Db, redis: Redis | null, ids: string[], useDb: boolean, now = Date.now()): Promise<LiveCounts> {
  const known = new Map<string, Counts>();
  const todo: string[] = [];
  for (const id of new Set(ids)) {
    const m = memo.get(id, now);
    if (m) known.set(id, m);
    else todo.push(id);
  }
  const rows = new Map<string, Counts>();
  const deltas = new Map<string, Counts>();
  if (todo.length) {
    if (useDb) {
      try {
        for (const [id, c] of await readRows(db, todo)) rows.set(id, c);
      } catch {
        /* the cached counts stay the base */
      }
    }
    if (redis) try {
      const d = await redis.mget<(string | number | null)[]>(...todo.flatMap((id) => [counterKey(id, "views"), counterKey(id, "likes"), counterKey(id, "unlikes")]));
      const n = (k: number) => Number(d[k] ?? 0) || 0;
      todo.forEach((id, i) => deltas.set(id, { views: n(3 * i), likes: n(3 * i + 1) - n(3 * i + 2) }));
    } catch {
      /* without Redis: the row alone */
    }
    // Only a full read (the row and the deltas) is kept: a fallback must not outlive its cause.
    for (const id of todo) {
      const row = rows.get(id), d = deltas.get(id);
      if (row && d) {
        const c = { views: row.views + d.views, likes: row.likes + d.likes };
        memo.set(id, c, now);
        known.set(id, c);
      }
    }
  }
  return (id, cached) => {
    const k = known.get(id);
    if (k) return k;
    const base = rows.get(id) ?? cached;
    const d = deltas.get(id);
    return d ? { views: base.views + d.views, likes: base.likes + d.likes } : base;
  };
}

/** How long the region's isolates share a video's merged row counts through Redis (s): a feed page's stats
 * are at most this much behind the database (plus the unflushed deltas, always current). */
export const SHARED_ROW_S = 10;
/** Redis key of a video's merged row counts, "views:likes", kept SHARED_ROW_S (feed pages read it). */
export const sharedRowKey = (id: string) => `stats:row:${id}`;

/**
 * The feed page's live counts without a Postgres read on the request's path (issue 13: that read was
 * ~26 ms of a 43 ms miss, mostly opening the request's connection). Stale-while-revalidate through Redis:
 * one MGET reads each video's shared merged row (sharedRowKey, written by any isolate of the region within
 * SHARED_ROW_S) and its unflushed deltas together; a video whose shared row is absent gets the caller's
 * cached counts as its base this time, and its row is read from Postgres after the response (`defer`,
 * the request's waitUntil) and shared for SHARED_ROW_S. A flush deletes the rows of the videos it moved
 * (origin/counter-flush.ts), so a delta is not lost between a shared row and the deltas left in Redis.
 * `redis` null (level 2): the synchronous read above (Postgres row alone). Never rejects.
 */
export async function readSharedLiveCounts(db: Db, redis: Redis | null, ids: string[], useDb: boolean, defer: (p: Promise<unknown>) => void, now = Date.now()): Promise<LiveCounts> {
  if (!redis) return readLiveCounts(db, null, ids, useDb, now);
  const known = new Map<string, Counts>();
  const todo = [...new Set(ids)].filter((id) => {
    const m = memo.get(id, now);
    if (m) known.set(id, m);
    return !m;
  });
  const deltas = new Map<string, Counts>();
  const stale: string[] = [];
  if (todo.length) {
    try {
      const d = await redis.mget<(string | number | null)[]>(...todo.flatMap((id) => [sharedRowKey(id), counterKey(id, "views"), counterKey(id, "likes"), counterKey(id, "unlikes")]));
      const n = (k: number) => Number(d[k] ?? 0) || 0;
      todo.forEach((id, i) => {
        const delta = { views: n(4 * i + 1), likes: n(4 * i + 2) - n(4 * i + 3) };
        deltas.set(id, delta);
        const [views, likes] = String(d[4 * i] ?? "").split(":").map(Number);
        if (d[4 * i] == null || !Number.isFinite(views) || !Number.isFinite(likes)) return void stale.push(id);
        const c = { views: views + delta.views, likes: likes + delta.likes };
        memo.set(id, c, now);
        known.set(id, c);
      });
    } catch {
      /* Redis failing: the cached counts, and no refresh (it would have nowhere to go) */
    }
    if (stale.length && useDb) defer(shareRows(db, redis, stale));
  }
  return (id, cached) => {
    const k = known.get(id);
    if (k) return k;
    const d = deltas.get(id);
    return d ? { views: cached.views + d.views, likes: cached.likes + d.likes } : cached;
  };
}

/** Reads the merged rows of `ids` from Postgres (one 100 ms try) and shares them for SHARED_ROW_S. Never rejects. */
async function shareRows(db: Db, redis: Redis, ids: string[]): Promise<void> {
  try {
    const rows = await readRows(db, ids);
    if (!rows.size) return;
    const p = redis.pipeline();
    for (const [id, c] of rows) p.set(sharedRowKey(id), `${c.views}:${c.likes}`, { ex: SHARED_ROW_S });
    await p.exec();
  } catch {
    /* the next page asks again */
  }
}

/** The merged row counts of `ids` (one Postgres try of QUERY_TIMEOUT_MS); absent ids are left out. Rejects with the query's error. */
async function readRows(db: Db, ids: string[]): Promise<Map<string, Counts>> {
  const r = await db.query<{ video_id: string; views: string; likes: string }>(
    "SELECT video_id, views, likes FROM videos WHERE video_id = ANY($1::bigint[])", [ids], QUERY_TIMEOUT_MS,
  );
  return new Map(r.map((x) => [String(x.video_id), { views: Number(x.views), likes: Number(x.likes) }]));
}

/** Live counts of `base`'s videos (id → the caller's cached counts); a new map with an entry per id. */
export async function liveCounts(db: Db, redis: Redis | null, base: Map<string, Counts>, useDb: boolean, now = Date.now()): Promise<Map<string, Counts>> {
  const live = await readLiveCounts(db, redis, [...base.keys()], useDb, now);
  return new Map([...base].map(([id, c]) => [id, live(id, c)]));
}

/** `v` with its counts replaced by the live ones (the cached object is not modified). */
export function withCounts<V extends Counts>(v: V, c: Counts): V {
  return c.views === v.views && c.likes === v.likes ? v : { ...v, views: c.views, likes: c.likes };
}

/** `values` with every video's counts replaced by its live counts (the cached objects are not modified). */
export async function withLiveCounts<V extends Counts>(db: Db, redis: Redis | null, values: Map<string, V>, useDb: boolean): Promise<Map<string, V>> {
  const live = await readLiveCounts(db, redis, [...values.keys()], useDb);
  return new Map([...values].map(([id, v]) => [id, withCounts(v, live(id, v))]));
}
