import { RETRY } from "../../shared/config.ts";
import type { LevelPolicy } from "../../shared/degradation.ts";
import { cachedTrendingIds, followingIds, generateCandidates, trendingIds } from "../candidates.ts";
import { cachedRecommendations, loadChain, parseChain, storeChain } from "../chains.ts";
import type { RequestDeps } from "../context.ts";
import type { Db } from "../db.ts";
import { FeatureStore, type FeatureStoreMode } from "../feature-store.ts";
import { readSharedLiveCounts } from "../live-stats.ts";
import { rank, rankStep } from "../ranking-client.ts";
import type { CatalogStore, ChainStore, FeatureSource, FeedStores, Ranker } from "./ports.ts";
import type { ReadAhead } from "./read-ahead.ts";

// The real adapters of origin/feed/ports.ts for one request: Redis (chains), Postgres + Redis lists
// (catalogue), one FeatureStore in the policy's mode, and the ranking service behind the isolate's breaker.
// Every call is observed by the isolate's dependency health (origin/dependency-health.ts), which is what
// the next request's level is computed from.

/** Topics the content-based "similar" source reads: the most frequent among the user's 50 latest videos. */
const CONTENT_TOPICS = 3;
const CONTENT_RECENT = 50;

/** Topics of `recent` video ids, most frequent first (ties by topic), at most CONTENT_TOPICS. */
export async function recentTopics(db: Db, recent: string[]): Promise<number[]> {
  if (recent.length === 0) return [];
  const rows = await db.query<{ topic: number }>(
    `SELECT topic FROM videos WHERE video_id = ANY($1::bigint[]) AND topic IS NOT NULL
      GROUP BY topic ORDER BY count(*) DESC, topic LIMIT ${CONTENT_TOPICS}`,
    [recent.slice(0, CONTENT_RECENT)],
  );
  return rows.map((r) => Number(r.topic));
}

function chainStore(d: RequestDeps, primed?: ReadAhead["chain"]): ChainStore {
  // While Redis is known down, no call is made (its PING probe notices the return: origin/feed/route.ts).
  const up = () => d.signals.redis.view().available;
  return {
    // A chain the read-ahead already read (a cursor page's) is not read again.
    load: async (id) => (primed?.id === id ? parseChain(primed.value) : up() ? loadChain(d.redis, id, d.signals.redis) : null),
    store: async (id, chain) => (up() ? storeChain(d.redis, id, chain, d.signals.redis) : false),
    cachedRecommendations: async (user, maxAgeMs) => (up() ? cachedRecommendations(d.redis, user, maxAgeMs) : null),
  };
}

function catalogStore(d: RequestDeps): CatalogStore {
  const region = d.cfg.REGION;
  return {
    trending: (limit) => trendingIds(d.db, d.redis, region, limit),
    cachedTrending: () => cachedTrendingIds(d.redis, region),
    following: (user, limit) => followingIds(d.db, user, limit),
    candidates: async (user, plan) =>
      generateCandidates(d.db, d.redis, user, {
        pool: plan.pool, region, exclude: plan.exclude, mix: plan.mix, exploreSeed: plan.exploreSeed,
        topics: plan.contentBased ? await recentTopics(d.db, user.recent) : undefined,
      }),
  };
}

function featureSource(fs: FeatureStore, d: RequestDeps): FeatureSource {
  return {
    user: async (id) => (await fs.user(id)).user,
    videos: async (ids) => (await fs.videos(ids)).values,
    cachedVideos: (ids) => fs.cachedVideos(ids),
    liveCounts: (ids, policy) => readSharedLiveCounts(d.db, policy.useRedis ? d.redis : null, ids, !policy.cacheOnly, d.waitUntil),
  };
}

/**
 * Ranking: the breaker around each try, retried per the seed's ML policy (1 retry, 20 ms ± 20%, 40 ms per
 * try unless RANK_TIMEOUT_MS says otherwise) — an open breaker and a permanent refusal are not retried —
 * and one ML-latency sample per step (origin/ranking-client.ts rankStep).
 */
function ranker(d: RequestDeps): Ranker {
  const timeoutMs = d.cfg.RANK_TIMEOUT_MS ?? RETRY.mlInference.perTryTimeoutMs;
  const policy = { ...RETRY.mlInference, perTryTimeoutMs: timeoutMs };
  return {
    wantsTrial: () => d.signals.breaker.state === "HALF_OPEN",
    rank: (input) => rankStep(d.signals.ml, d.signals.breaker, policy, () => rank(d.cfg.RANKING_URL, input, timeoutMs, d.cfg.INTERNAL_SECRET)),
  };
}

/** The mode of a request's FeatureStore: the policy's feature mode, or cache-only when the policy is. */
export const featureStoreMode = (policy: Readonly<LevelPolicy>): FeatureStoreMode => (policy.cacheOnly ? "cache-only" : policy.featureMode);

/**
 * The request's stores, with its one FeatureStore in the policy's mode; `primed`: the GET the route's
 * read-ahead pipeline already answered (origin/feed/read-ahead.ts: the user's features or a chain).
 */
export function feedStores(d: RequestDeps, policy: Readonly<LevelPolicy>, primed?: ReadAhead): FeedStores {
  const fs = new FeatureStore(d.redis, d.db, d.metrics, d.signals.redis, featureStoreMode(policy), primed?.user);
  return { chains: chainStore(d, primed?.chain), catalog: catalogStore(d), features: featureSource(fs, d), ranker: ranker(d) };
}
