import type { Context } from "hono";
import { TTL } from "../shared/config.ts";
import type { FeedItem } from "../shared/contract.ts";
import { ApiError } from "../shared/errors.ts";
import { parseVideoId } from "../shared/ids.ts";
import type { EdgeEnv } from "./app-env.ts";
import { cachedRead, joinInflight } from "./cached-read.ts";
import { type CacheHit, type CacheTier, cacheGet, cachePut, deletedAt, rememberCopy } from "./edge-cache.ts";
import { edgeConfig } from "./env.ts";
import { HOT_POOL, pooledVideo } from "./hot-pool.ts";
import { HotKeys } from "./hot-keys.ts";
import { KV } from "./kv-keys.ts";
import { reportOriginError } from "./origin-error-report.ts";
import { readRegion, requestGeo } from "./region-router.ts";
import { routeRead } from "./routing.ts";
import { countResult, edgeStats, type CacheResult } from "./stats.ts";
import { apiResponse } from "./response-headers.ts";
import { notFoundKey, notFoundTtlFor } from "./video-not-found.ts";

// GET /v1/videos/:id — hot-spot defence: edge cache (isolate memory → Cache API, SWR) + the pushed hot
// pool (edge/hot-pool.ts: first reads of popular videos never reach an origin) + coalescing (per isolate
// and via the Coalescer DO), hot-key detection (hot keys are read from Redis replica keys at the origin
// and published to KV), and a per-video origin rate limit that serves cached/stale/pooled content first
// and 429 + retry-after only when nothing is cached.
export const hotKeys = new HotKeys();

function send(c: Context<EdgeEnv>, body: string, status: number, cache: CacheResult, hot: boolean, tier: CacheTier | "origin"): Response {
  countResult(cache);
  return apiResponse(c, body, status, {
    "content-type": "application/json", "x-cache": cache, "x-cache-tier": tier, "x-hot-key": hot ? "1" : "0",
    "cache-control": status === 200 ? `public, max-age=${TTL.edgeVideo}` : "no-store",
  });
}

/** The pooled copy of `vid` unless this isolate deleted the key after the pool was generated (an edit). */
async function pooled(c: Context<EdgeEnv>, key: string, vid: string, now: number): Promise<{ body: string; ageS: number; generatedAt: number } | null> {
  const p = await pooledVideo(c.env.FYP_KV, vid, now);
  if (!p || p.generatedAt <= (deletedAt(key, now) ?? 0)) return null;
  return { body: p.body, ageS: Math.max(0, (now - p.generatedAt) / 1000), generatedAt: p.generatedAt };
}

export async function videoRoute(c: Context<EdgeEnv>): Promise<Response> {
  const raw = c.req.param("video_id") ?? "";
  const id = parseVideoId(raw);
  if (id === null) throw new ApiError(400, "invalid_request", "must look like v123", "video_id");
  const vid = `v${id}`;
  const cfg = edgeConfig(c.env);
  const preferred = readRegion(cfg, { override: c.req.query("region") ?? c.req.header("x-fyp-region"), cf: () => requestGeo(c.req.raw) });
  const rps = hotKeys.hit(vid);
  const hot = hotKeys.isHot(rps);
  const key = `video/${vid}`;
  if (hot) c.executionCtx.waitUntil(publishHot(c, vid));

  const now = Date.now();
  const cached = await cacheGet(key, TTL.edgeVideo, now);
  if (cached?.fresh) return send(c, cached.payload.body, cached.payload.status, "HIT", hot, cached.tier);
  const pool = await pooled(c, key, vid, now);
  const poolPayload = pool ? { status: 200, body: pool.body, headers: { "content-type": "application/json" } } : null;
  if (pool && pool.ageS < HOT_POOL.freshS) {
    // Pushed by the pre-warm: a HIT; this isolate keeps it in memory like any other copy.
    rememberCopy(key, poolPayload!, pool.generatedAt, HOT_POOL.freshS, HOT_POOL.freshS + TTL.edgeVideoStale, now);
    return send(c, pool.body, 200, "HIT", hot, "pool");
  }
  // A pooled copy past the push cadence (the pre-warm failed meanwhile) is a stale copy like any other:
  // served at once while one refresh goes to the origin (when there is no fresher copy in the cache).
  const known: CacheHit | null = cached ?? (pool && pool.ageS < HOT_POOL.freshS + TTL.edgeVideoStale ? { payload: poolPayload!, ageS: pool.ageS, fresh: false, tier: "pool" } : null);
  if (!hotKeys.takeOriginToken(vid)) {
    // Over this video's origin budget: anything cached beats a 429.
    edgeStats.rateLimited++;
    if (known) return send(c, known.payload.body, known.payload.status, "STALE", hot, known.tier);
    // A fetch for this video is already under way: waiting for it costs the origin nothing.
    const pending = joinInflight(key, 3000);
    if (pending) {
      const p = await pending.catch(() => null);
      if (p) return send(c, p.body, p.status, "COALESCED", hot, "origin");
    }
    const fallback = pool?.body ?? (await c.env.FYP_KV.get(KV.hotVideo(vid)));
    if (fallback) return send(c, fallback, 200, "STALE", hot, "pool");
    throw new ApiError(429, "rate_limited", `video ${vid} is over its origin rate limit; retry shortly`, undefined, { "retry-after": "1" });
  }
  const route = await routeRead(c.env, preferred);
  for (const region of route.candidates) {
    try {
      // A 404 is this region's answer only (replication may not have landed yet): kept per region and
      // briefly (edge/video-not-found.ts); a 200 is the global catalogue's, under the shared key.
      const negKey = notFoundKey(region, vid);
      const neg = known ? null : await cacheGet(negKey, 0, now);
      if (neg?.fresh) return send(c, neg.payload.body, neg.payload.status, "HIT", hot, neg.tier);
      const r = await cachedRead(
        c.env,
        { key, region, path: `/internal/v1/videos/${vid}${hot ? "?hot=1" : ""}`, ttlS: TTL.edgeVideo, staleS: TTL.edgeVideoStale, shared: true, maxWaitMs: 3000, cacheStatuses: [200] },
        c.executionCtx,
        known,
      );
      const negTtlS = r.payload.status === 404 && r.result !== "HIT" ? notFoundTtlFor(c.env, id, region) : 0;
      if (negTtlS > 0) c.executionCtx.waitUntil(cachePut(negKey, r.payload, negTtlS, 0));
      return send(c, r.payload.body, r.payload.status, r.result, hot, r.tier);
    } catch (e) {
      edgeStats.originErrors++;
      c.executionCtx.waitUntil(reportOriginError(c.env, region, e)); // restarts a recovering region's error-free timer
    }
  }
  // No region could answer (or none is in rotation: level 5): any copy beats a 503, however old.
  if (known) return send(c, known.payload.body, known.payload.status, "STALE", hot, known.tier);
  const fallback = pool?.body ?? (await c.env.FYP_KV.get(KV.hotVideo(vid)));
  if (fallback) return send(c, fallback, 200, "STALE", hot, "pool");
  throw new ApiError(503, "unavailable", "video metadata temporarily unavailable", undefined, { "retry-after": "5" });
}

async function publishHot(c: Context<EdgeEnv>, vid: string): Promise<void> {
  const existing = await c.env.FYP_KV.get(KV.hotVideo(vid));
  if (existing) return;
  const cached = await cacheGet(`video/${vid}`, TTL.edgeVideo);
  if (cached?.payload.status === 200) {
    const item = JSON.parse(cached.payload.body) as FeedItem;
    await c.env.FYP_KV.put(KV.hotVideo(vid), JSON.stringify(item), { expirationTtl: 3600 });
  }
}
