import { TTL } from "../../shared/config.ts";
import type { FeedResponse } from "../../shared/contract.ts";
import { ApiError } from "../../shared/errors.ts";
import type { Chain } from "../chains.ts";
import { type Cursor, encodeCursor } from "../cursor.ts";
import type { VideoFeatures } from "../feature-store.ts";
import { toItem } from "../feed-items.ts";
import { withCounts } from "../live-stats.ts";
import type { OriginConfig } from "../env.ts";
import { ANON, anonymousChain } from "./anonymous.ts";
import { cacheOnlyChain } from "./cache-only.ts";
import { type FeedContext, RESCUE_POLICY } from "./context.ts";
import { rankedChain } from "./ranked.ts";

// The origin's feed pipeline (DESIGN §3), one policy per request (origin/feed/context.ts):
//   chain: a cursor's stored chain (Redis, when the policy uses it), or a fresh one from one source —
//     cache-only (origin/feed/cache-only.ts) · anonymous trending (anonymous.ts) · ranked (ranked.ts,
//     which falls back to fallback.ts);
//   page: a slice of the chain, rendered with the features of the request's feature store.
// A dependency that fails mid-request (an error other than an ApiError) does not fail the read: the
// request is answered as at level 3 (cache only, `limited`) and says so in its level.

export interface FeedRequest {
  userId: string | null; // numeric string; null = anonymous
  count: number;
  /** The verified cursor (origin/cursor.ts), decoded before the request counted against any budget. */
  position?: Cursor;
  /** Pages of the same chain to send after this one (edge/chain-cache.ts), 0..FEED_AHEAD_MAX; default 0. */
  ahead?: number;
}

/** Most pages one read sends ahead (the edge asks for ceil(100 / count) − 1, at most 9). */
export const FEED_AHEAD_MAX = 9;
/** A page and, when asked for and served at level 0, the pages after it (internal: the edge strips them). */
export type FeedWindow = FeedResponse & { ahead?: FeedResponse[] };

/** Media URLs of the rendered items. */
export type FeedRender = Pick<OriginConfig, "MEDIA_BASE_URL">;

/** One chain per region and time bucket, shared by every anonymous reader. */
export const anonymousChainId = (region: string, now: number) => `anon-${region}-${Math.floor(now / (TTL.edgeAnonFeed * 1000))}`;

async function freshChain(ctx: FeedContext, userId: string | null, chainId: string): Promise<Chain> {
  if (ctx.policy.cacheOnly) return cacheOnlyChain(ctx, userId ?? ANON);
  if (!userId) return anonymousChain(ctx);
  const user = await ctx.timings.time("features", () => ctx.stores.features.user(userId));
  if (!user) return anonymousChain(ctx); // unknown user: trending, like an anonymous visitor
  return rankedChain(ctx, user, userId, chainId);
}

/** The page's video features: the policy's source, then whatever Redis has, then (Redis gone) the store's own. */
async function pageFeatures(ctx: FeedContext, ids: string[]): Promise<Map<string, VideoFeatures>> {
  const { features } = ctx.stores;
  return ctx.timings.time("features", async () => {
    if (!ctx.policy.cacheOnly) {
      try {
        return await features.videos(ids);
      } catch {
        /* database failed for the misses: whatever Redis has */
      }
    }
    try {
      return await features.cachedVideos(ids);
    } catch {
      // Redis is gone too: the database is the only source left, however slow it is (unless the store
      // itself is cache-only: then there is nothing to render).
      return await features.videos(ids).catch(() => {
        throw new ApiError(503, "unavailable", "no source left for this page's video features");
      });
    }
  });
}

/**
 * Builds one feed page. Resolves with the contract's FeedResponse at the level it was served at, plus
 * `ahead` (req.ahead pages of the same chain, each with its own next_cursor) when the request asked for
 * them and the policy keeps chains in Redis (their cursors must find the chain: levels 0, 1, 3); throws an
 * ApiError (503 when nothing can be served, e.g. cache-only with an empty cache).
 */
export async function buildFeed(ctx: FeedContext, req: FeedRequest, render: FeedRender): Promise<FeedWindow> {
  const { chains } = ctx.stores;
  const userKey = req.userId ?? ANON;
  const load = async (id: string) => {
    if (!ctx.policy.useRedis) return null;
    const c = await chains.load(id);
    ctx.countAppCache(c ? "hit" : "miss");
    return c;
  };
  const chainId = req.position?.chain ?? (req.userId ? ctx.newChainId() : anonymousChainId(ctx.region, ctx.now()));
  const offset = req.position?.offset ?? 0;
  // A cursor's chain, or the anonymous chain of this bucket; a signed-in first page always ranks afresh.
  let chain = req.position || !req.userId ? await load(chainId) : null;
  // A fresh chain is stored while the page's features are read (two Redis calls at once, not one after
  // the other: issue 13's miss path); ChainStore.store never throws.
  let stored: Promise<unknown> = Promise.resolve();
  if (!chain) {
    try {
      chain = await freshChain(ctx, req.userId, chainId);
    } catch (e) {
      if (e instanceof ApiError || ctx.policy.cacheOnly) throw e;
      ctx.warn(`feed pipeline failed (${(e as Error).message}); answering from cache`);
      ctx = { ...ctx, policy: RESCUE_POLICY };
      chain = await cacheOnlyChain(ctx, userKey);
    }
    const fresh = chain;
    if (ctx.policy.useRedis) stored = ctx.timings.time("chain", () => chains.store(chainId, fresh));
  }
  // Ahead only from a chain stored in Redis (the pages' cursors must find it when the edge copy is gone; not
  // at level 2): a continuation page is a slice of the same fixed chain whoever serves it, and served by the
  // edge it keeps the level of the page it came with. The edge keeps limited (level 3) pages only as long
  // as a first page (edge/cached-read.ts), so the client's banner follows the origin within that TTL.
  const windowed = ctx.policy.useRedis;
  const pages = windowed ? 1 + Math.max(0, Math.min(req.ahead ?? 0, FEED_AHEAD_MAX)) : 1;
  // One feature read for the whole window; the pages are consecutive slices, so none repeats a video.
  // The items' stats: live counts read alongside the features (origin/live-stats.ts).
  const ids = chain.items.slice(offset, offset + req.count * pages).map((e) => e[0]);
  const liveCounts = ctx.stores.features.liveCounts;
  const [values, live] = await Promise.all([pageFeatures(ctx, ids), liveCounts && ctx.timings.time("live", () => liveCounts(ids, ctx.policy)), stored]);
  const out: FeedResponse[] = [];
  for (let start = offset; out.length < pages && (out.length === 0 || start < chain.items.length); start += req.count) {
    const slice = chain.items.slice(start, start + req.count);
    const items = slice.filter((e) => values.has(e[0])).map((e) => {
      const v = values.get(e[0])!;
      return toItem(render, live ? withCounts(v, live(e[0], v)) : v, e[1], e[2]);
    });
    const nextOffset = start + slice.length;
    const next_cursor = nextOffset < chain.items.length ? await encodeCursor(ctx.cursorSecret, { chain: chainId, offset: nextOffset, user: userKey }) : null;
    out.push({
      items, next_cursor, source: chain.src, region: ctx.region, degradation_level: ctx.policy.level, limited: ctx.policy.limited,
      model_version: chain.mv, generated_at: new Date(chain.at).toISOString(),
    });
  }
  const [page, ...ahead] = out;
  return ahead.length ? { ...page, ahead } : page;
}
