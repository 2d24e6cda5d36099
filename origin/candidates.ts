import type { Redis } from "@upstash/redis/cloudflare";
import type { Reason } from "../shared/contract.ts";
import type { Region } from "../shared/regions.ts";
import { levelPolicy, type SourceMix } from "../shared/degradation.ts";
import type { Db } from "./db.ts";
import { readRetrying } from "./db-retry.ts";
import type { UserFeatures } from "./feature-store.ts";
import { ivfCentroids, nearestLists } from "./ivf.ts";
import { IsolateCache } from "./isolate-cache.ts";
import { PostgresTimelineStore } from "./timeline/postgres.ts";
import { regionalTrending, TRENDING } from "./timeline/trending.ts";
import { exploreSample, followeesRecent } from "./candidate-lists.ts";

// Candidate generation: up to `pool` video ids from four sources, each tagged with the reason it was
// picked. "similar" uses an inverted-file (IVF) index: the lists nearest to the user's embedding are
// probed (origin/ivf.ts) and the ranker scores the exact match, so we never scan 100k+ vectors.
//
// Every source's list is cached in the isolate with a TTL (issue 13): trending (TRENDING.cacheTtlS), IVF
// lists (LIST_TTL_S, in front of their Redis copy), followees' recent videos per author and explore
// pools (origin/candidate-lists.ts). A miss whose lists are all cached makes no Postgres or Redis call
// here; otherwise one query per source that missed, all issued at once.

export type Candidates = Map<string, Reason>;

const LIST_TTL_S = 60;
const listMemo = new IsolateCache<string[]>(256, LIST_TTL_S * 1000);

async function cachedList(redis: Redis, key: string, load: () => Promise<string[]>): Promise<string[]> {
  const memo = listMemo.get(key);
  if (memo) return memo;
  let ids: string[];
  try {
    const hit = await redis.get<string>(key);
    if (hit) {
      ids = JSON.parse(hit) as string[];
      listMemo.set(key, ids);
      return ids;
    }
  } catch {
    return load(); // Redis down: go straight to Postgres, don't try to write back (nor memoise)
  }
  ids = await load();
  listMemo.set(key, ids);
  redis.set(key, JSON.stringify(ids), { ex: LIST_TTL_S }).catch(() => {});
  return ids;
}


const fallbackTrendingKey = (region: Region) => `fallback:trending:${region}`;
const FALLBACK_TTL_S = 3600;

// Regional trending is computed from the timelines (views and likes of this region's users in the last
// 24 h, origin/timeline/trending.ts), at most once per TRENDING.cacheTtlS per isolate and per Redis.
const trendingMemo = new IsolateCache<string[]>(32, TRENDING.cacheTtlS * 1000);

export async function trendingIds(db: Db, redis: Redis, region: Region, limit: number): Promise<string[]> {
  db = readRetrying(db); // the trending computation's reads under the DB read row (origin/db-retry.ts)
  const key = `list:trending:${region}:${limit}`;
  const memo = trendingMemo.get(key);
  if (memo) return memo;
  const ids = await cachedList(redis, key, async () => {
    const { ids } = await regionalTrending(new PostgresTimelineStore(db), db, region, limit);
    // A long-lived copy for level 3 (database down: serve from cache only).
    if (ids.length >= 100) redis.set(fallbackTrendingKey(region), JSON.stringify(ids.slice(0, 500)), { ex: FALLBACK_TTL_S }).catch(() => {});
    return ids;
  });
  trendingMemo.set(key, ids);
  return ids;
}

/** Per-statement timeout of the head's query (ms): a bulk read (10,000 rows), sized like regional trending's. */
const HEAD_TIMEOUT_MS = 2000;

/**
 * The `limit` most-viewed active videos uploaded in `region` (all-time views; the videos_region_views index),
 * most viewed first. The hot pool's second part next to trending (edge/hot-pool.ts): the catalogue's head is
 * read all the time (shares, deep links, profiles) whether or not it is trending today. Cached like the other
 * lists (isolate + Redis, LIST_TTL_S); each region pushes its own uploads, so the regions' heads do not overlap.
 */
export function regionalHeadIds(db: Db, redis: Redis, region: Region, limit: number): Promise<string[]> {
  return cachedList(redis, `list:head:${region}:${limit}`, async () => {
    const rows = await readRetrying(db).query<{ video_id: string }>(
      `SELECT video_id FROM videos WHERE status = 'active' AND upload_region = $1 ORDER BY views DESC LIMIT $2`,
      [region, limit], HEAD_TIMEOUT_MS,
    );
    return rows.map((r) => String(r.video_id));
  });
}

/** Redis-only trending (level 3); null when nothing is cached. */
export async function cachedTrendingIds(redis: Redis, region: Region): Promise<string[] | null> {
  const s = await redis.get<string>(fallbackTrendingKey(region));
  return s ? (JSON.parse(s) as string[]) : null;
}

function topicIds(db: Db, redis: Redis, topic: number, limit: number): Promise<string[]> {
  return cachedList(redis, `list:topic:${topic}:${limit}`, async () => {
    const rows = await readRetrying(db).query<{ video_id: string }>(
      `SELECT video_id FROM videos WHERE status = 'active' AND topic = $1 ORDER BY views DESC LIMIT $2`,
      [topic, limit],
    );
    return rows.map((r) => String(r.video_id));
  });
}

export async function followingIds(db: Db, user: UserFeatures, limit: number): Promise<string[]> {
  if (user.followees.length === 0) return [];
  const rows = await readRetrying(db).query<{ video_id: string }>(
    `SELECT v.video_id FROM videos v
      WHERE v.author_id = ANY($1::bigint[]) AND v.status = 'active'
      ORDER BY v.created_at DESC LIMIT $2`,
    [user.followees, limit],
  );
  return rows.map((r) => String(r.video_id));
}


export interface CandidateOptions {
  pool: number;
  region: Region;
  exclude: Set<string>;
  /** Shares of the pool per source (the level policy's mix, shared/degradation.ts); default level 0's. */
  mix?: SourceMix;
  /** Topics (IVF lists) of the "similar" source; default the 3 lists nearest to the user embedding. */
  topics?: number[];
  /** Seed (integer) of the explore sample: the same seed draws the same sample; default a random one. */
  exploreSeed?: number;
}

export async function generateCandidates(db: Db, redis: Redis, user: UserFeatures | null, opts: CandidateOptions): Promise<Candidates> {
  db = readRetrying(db); // each source's reads under the DB read row (3 retries, 10/50/200 ms ±20%, 100 ms per try)
  const mix = opts.mix ?? levelPolicy(0).mix;
  const lim = (share: number) => Math.max(20, Math.round(share * opts.pool));
  const topics = opts.topics ?? (user ? nearestLists(user.emb, await ivfCentroids(db).catch(() => []), 3) : []);
  const seed = opts.exploreSeed ?? Math.floor(Math.random() * 2 ** 31);
  const [following, trending, explore, ...similar] = await Promise.all([
    user ? followeesRecent(db, opts.region, user.followees, lim(mix.following)) : Promise.resolve([]),
    trendingIds(db, redis, opts.region, lim(mix.trending)),
    exploreSample(db, opts.region, lim(mix.explore), seed),
    ...topics.map((t, i) => topicIds(db, redis, t, lim(mix.similar / (i === 0 ? 2 : 4)))),
  ]);
  const out: Candidates = new Map();
  const add = (ids: string[], reason: Reason) => {
    for (const id of ids) {
      if (out.size >= opts.pool) return;
      if (!opts.exclude.has(id) && !out.has(id)) out.set(id, reason);
    }
  };
  add(following, "following");
  for (const s of similar) add(s, "similar");
  add(trending, "trending");
  add(explore, "explore");
  return out;
}
