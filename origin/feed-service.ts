import type { Redis } from "@upstash/redis/cloudflare";
import { CANDIDATES, TTL } from "../shared/config.ts";
import type { FeedResponse } from "../shared/contract.ts";
import { ApiError } from "../shared/errors.ts";
import type { Region } from "../shared/regions.ts";
import { cachedTrendingIds, trendingIds } from "./candidates.ts";
import { type Chain, cachedRecommendations, loadChain, storeChain } from "./chains.ts";
import type { RequestDeps } from "./context.ts";
import { type Cursor, encodeCursor } from "./cursor.ts";
import { FeatureStore, type VideoFeatures } from "./feature-store.ts";
import { toItem } from "./feed-items.ts";
import { rankedChain, timed } from "./ranked-chain.ts";
import type { OriginForcedLevel } from "../shared/forced-level-header.ts";

// The origin's feed pipeline with degradation levels (DESIGN §3):
//   0 normal: user features → 5K candidates → ranking → chain stored in Redis, pages sliced from it
//   1 ML degraded: cached recommendations ≤ 1 h, else a 1K pool (ranking through the breaker)
//   2 feature store down: content-based (cold-start) user embedding from Postgres, no explore, more trending
//   3 database degraded: cache only (cached recommendations / cached trending), `limited: true`
export interface FeedRequest {
  userId: string | null; // numeric string; null = anonymous
  count: number;
  /** The verified cursor (origin/cursor.ts), decoded before the request counted against any budget. */
  position?: Cursor;
  /** Shed by the bulkhead: answer like level 3 (cache only) without touching Postgres or ranking. */
  shed?: boolean;
  /** Admin-forced level sent by the edge; undefined = this isolate's own setting. */
  forcedLevel?: OriginForcedLevel;
}

/**
 * At most once a second: a cheap `SELECT 1` (the database latency signal, and how a database we stopped
 * calling is noticed when it returns) and, while Redis looks down, a PING.
 */
function probeDependencies(d: RequestDeps): void {
  if (d.signals.db.probeDue()) d.waitUntil(d.db.probe());
  if (!d.signals.redis.view().available && d.signals.redis.probeDue()) d.waitUntil(d.signals.redis.observe(() => d.redis.ping()));
}

async function anonymousChain(d: RequestDeps): Promise<Chain> {
  const ids = await timed(d.timings, "candidates", () => trendingIds(d.db, d.redis, d.cfg.REGION, CANDIDATES.chainLength));
  const n = ids.length || 1;
  return { u: "anon", mv: null, src: "trending", at: Date.now(), items: ids.map((id, i) => [id, 1 - i / n, "trending"]) };
}

/** Level 3: nothing from Postgres. */
async function cacheOnlyChain(redis: Redis, region: Region, userKey: string): Promise<Chain> {
  if (userKey !== "anon") {
    const cached = await cachedRecommendations(redis, userKey);
    if (cached) return cached;
  }
  const ids = await cachedTrendingIds(redis, region).catch(() => null);
  if (!ids?.length) throw new ApiError(503, "unavailable", "database degraded and nothing cached for this request");
  return { u: userKey, mv: null, src: "trending", at: Date.now(), items: ids.map((id, i) => [id, 1 - i / ids.length, "trending"]) };
}

async function freshChain(d: RequestDeps, userId: string | null, level: number): Promise<Chain> {
  const userKey = userId ?? "anon";
  if (level >= 3) return cacheOnlyChain(d.redis, d.cfg.REGION, userKey);
  if (!userId) return anonymousChain(d);
  const fs = new FeatureStore(d.redis, d.db, d.metrics, d.signals.redis, level >= 2);
  const user = await timed(d.timings, "features", async () => (level >= 2 ? fs.coldStartUser(userId) : (await fs.user(userId)).user));
  if (!user) return anonymousChain(d); // unknown user: trending, like an anonymous visitor
  return rankedChain(d, user, userKey, level);
}

async function pageFeatures(d: RequestDeps, ids: string[], level: number): Promise<Map<string, VideoFeatures>> {
  const fs = new FeatureStore(d.redis, d.db, d.metrics, d.signals.redis, level === 2);
  return timed(d.timings, "features", async () => {
    if (level < 3) {
      try {
        return (await fs.videos(ids)).values;
      } catch {
        /* database failed for the misses: whatever Redis has */
      }
    }
    try {
      return await fs.cachedVideos(ids);
    } catch {
      // Redis is gone too: the database is the only source left, however slow it is.
      return (await fs.videos(ids)).values;
    }
  });
}

let lastLevel = 0;
export async function buildFeed(d: RequestDeps, req: FeedRequest): Promise<FeedResponse> {
  probeDependencies(d);
  const report = d.signals.level(req.forcedLevel);
  let level: number = req.shed ? Math.max(3, report.level) : report.level;
  if (!req.shed && level !== lastLevel) console.warn(`degradation level ${lastLevel} → ${level}: ${report.reasons.join("; ") || "all signals healthy"}`);
  if (!req.shed) lastLevel = level;
  // Chains live in Redis: skip it while it is down (level 2), recomputing pages deterministically.
  const useRedis = level !== 2 && d.signals.redis.view().available;
  const userKey = req.userId ?? "anon";
  let chainId: string;
  let offset = 0;
  let chain: Chain | null = null;
  if (req.position) {
    const c = req.position;
    chainId = c.chain;
    offset = c.offset;
    if (useRedis) {
      chain = await loadChain(d.redis, chainId, d.signals.redis);
      d.metrics.cache("app", chain ? "hit" : "miss");
    }
  } else {
    chainId = req.userId ? crypto.randomUUID() : `anon-${d.cfg.REGION}-${Math.floor(Date.now() / (TTL.edgeAnonFeed * 1000))}`;
    if (!req.userId && useRedis) {
      // The anonymous chain of this region and time bucket, shared by every anonymous visitor.
      chain = await loadChain(d.redis, chainId, d.signals.redis);
      d.metrics.cache("app", chain ? "hit" : "miss");
    }
  }
  if (!chain) {
    try {
      chain = await freshChain(d, req.userId, level);
    } catch (e) {
      // A dependency failed under us mid-request: answer from cache like level 3 would.
      if (e instanceof ApiError || level >= 3) throw e;
      console.warn(`feed pipeline failed (${(e as Error).message}); answering from cache`);
      level = 3;
      chain = await cacheOnlyChain(d.redis, d.cfg.REGION, userKey);
    }
    if (useRedis) await storeChain(d.redis, chainId, chain, d.signals.redis);
  }
  level = Math.max(level, d.signals.level(req.forcedLevel).level);
  const slice = chain.items.slice(offset, offset + req.count);
  const values = await pageFeatures(d, slice.map((e) => e[0]), level);
  const items = slice.filter((e) => values.has(e[0])).map((e) => toItem(d.cfg, values.get(e[0])!, e[1], e[2]));
  const nextOffset = offset + slice.length;
  const next_cursor = nextOffset < chain.items.length ? await encodeCursor(d.cfg.cursorSecret, { chain: chainId, offset: nextOffset, user: userKey }) : null;
  d.metrics.degradationLevel(level);
  return {
    items, next_cursor, source: chain.src, region: d.cfg.REGION as Region, degradation_level: level, limited: level >= 3,
    model_version: chain.mv, generated_at: new Date(chain.at).toISOString(),
  };
}
