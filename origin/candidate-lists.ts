// Candidate lists cached in the isolate per source (issue 13: the miss path within half the seed's
// budget), so a feed miss reads Postgres only for what no recent request already read:
//  - followees' recent videos, per author (FOLLOWING_TTL_MS): a user's "following" list is the newest
//    `limit` across the cached lists of the authors they follow; the authors not cached are read in ONE
//    query (a LATERAL index scan per author, newest FOLLOWING_PER_AUTHOR each);
//  - explore pools (EXPLORE_POOL_TTL_MS): EXPLORE_POOLS uniform samples of the catalogue per region, each
//    drawn with TABLESAMPLE … REPEATABLE(pool) (block sampling: ~1.5× the pool's rows read, never a scan); a chain's
//    explore sample is a seeded pick from pool (seed mod EXPLORE_POOLS). Same seed → same pool → same
//    sample, in every isolate, while the table is unchanged: what lets a page recomputed without Redis
//    (level 2) draw the chain's explore sample again.
// Regional trending (TRENDING.cacheTtlS) and the IVF lists (LIST_TTL_S) are cached by origin/candidates.ts.
// Staleness: a followee's upload joins their cached list within FOLLOWING_TTL_MS; explore needs none.
import type { Region } from "../shared/regions.ts";
import type { Db } from "./db.ts";
import { IsolateCache } from "./isolate-cache.ts";

export const FOLLOWING_TTL_MS = 60_000;
/** Newest videos kept per followed author (a user's following list draws from these). */
export const FOLLOWING_PER_AUTHOR = 50;
export const EXPLORE_POOL_TTL_MS = 300_000;
export const EXPLORE_POOLS = 8;

type Recent = { ids: string[]; at: Float64Array }; // newest first
const authorRecent = new IsolateCache<Recent>(20_000, FOLLOWING_TTL_MS);
const explorePools = new IsolateCache<string[]>(64, EXPLORE_POOL_TTL_MS);

/** Drops every cached list (tests). */
export function forgetCandidateLists(): void {
  authorRecent.clear();
  explorePools.clear();
}

/**
 * The newest `limit` active videos of the `followees` (author ids), newest first: per-author lists from
 * the isolate cache, the missing authors read in one query. Throws on a database failure.
 */
export async function followeesRecent(db: Db, region: Region, followees: readonly string[], limit: number): Promise<string[]> {
  if (!followees.length || limit <= 0) return [];
  const lists: Recent[] = [];
  const missing: string[] = [];
  for (const a of new Set(followees)) {
    const hit = authorRecent.get(`${region}:${a}`);
    if (hit) lists.push(hit);
    else missing.push(a);
  }
  if (missing.length) {
    const rows = await db.query<{ a: string; v: string; t: number }>(
      `SELECT f.a::text AS a, v.video_id::text AS v, (extract(epoch FROM v.created_at) * 1000)::float8 AS t
         FROM unnest($1::bigint[]) AS f(a)
         CROSS JOIN LATERAL (SELECT video_id, created_at FROM videos
                              WHERE author_id = f.a AND status = 'active' ORDER BY created_at DESC LIMIT ${FOLLOWING_PER_AUTHOR}) v`,
      [missing],
    );
    const by = new Map<string, { ids: string[]; at: number[] }>(missing.map((a) => [a, { ids: [], at: [] }]));
    for (const r of rows) {
      const e = by.get(String(r.a));
      if (e) {
        e.ids.push(String(r.v));
        e.at.push(Number(r.t));
      }
    }
    for (const [a, e] of by) {
      const list = { ids: e.ids, at: Float64Array.from(e.at) };
      authorRecent.set(`${region}:${a}`, list);
      lists.push(list);
    }
  }
  return mergeNewest(lists, limit);
}

/** k-way merge of newest-first lists: the `limit` newest overall. */
function mergeNewest(lists: Recent[], limit: number): string[] {
  const live = lists.filter((l) => l.ids.length > 0);
  if (live.length === 1) return live[0].ids.slice(0, limit);
  const pos = new Int32Array(live.length);
  const out: string[] = [];
  while (out.length < limit) {
    let best = -1;
    for (let i = 0; i < live.length; i++) {
      if (pos[i] < live[i].ids.length && (best < 0 || live[i].at[pos[i]] > live[best].at[pos[best]])) best = i;
    }
    if (best < 0) break;
    out.push(live[best].ids[pos[best]++]);
  }
  return out;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same pick. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `limit` explore ids for `seed` (a 31-bit integer): a seeded pick from one of the region's explore pools
 * (see the header). Throws on a database failure while the pool is not cached.
 */
export async function exploreSample(db: Db, region: Region, limit: number, seed: number): Promise<string[]> {
  if (limit <= 0) return [];
  const pool = seed % EXPLORE_POOLS;
  const size = limit * 3;
  const key = `${region}:${pool}:${size}`;
  let ids = explorePools.get(key);
  if (!ids) {
    // Uniform over the catalogue, unbiased by popularity (that is the point of explore); ids are sparse
    // since uploads (shared/video-id.ts), so sampling random ids below max(video_id) would miss.
    const rows = await db.query<{ video_id: string }>(
      `SELECT video_id FROM videos
         TABLESAMPLE SYSTEM (least(100, 100.0 * $1 / greatest(1, (SELECT reltuples FROM pg_class WHERE oid = 'videos'::regclass)))) REPEATABLE ($3)
        WHERE status = 'active' ORDER BY md5(video_id::text || $3::text) LIMIT $2`,
      [Math.ceil(size * 1.5), size, pool],
    );
    ids = rows.map((r) => String(r.video_id));
    explorePools.set(key, ids);
  }
  // Partial Fisher–Yates with the chain's seed: the first `limit` of a seeded shuffle.
  const pick = ids.slice();
  const rand = rng(seed);
  const n = Math.min(limit, pick.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (pick.length - i));
    [pick[i], pick[j]] = [pick[j], pick[i]];
  }
  return pick.slice(0, n);
}
