import type { Context } from "hono";
import { TTL } from "../shared/config.ts";
import { FeedQuerySchema, type FeedResponse } from "../shared/contract.ts";
import { ApiError, fromZodError } from "../shared/errors.ts";
import type { Region } from "../shared/regions.ts";
import type { EdgeEnv } from "./app-env.ts";
import { cachedRead, type ReadResult } from "./cached-read.ts";
import { edgeConfig } from "./env.ts";
import { emergencyFeed, trendingFeed } from "./fallback.ts";
import { readRegion } from "./region-router.ts";
import { routeRead } from "./routing.ts";
import { FORCED_LEVEL_HEADER, forcedOriginLevel } from "../shared/forced-level-header.ts";
import { countResult, edgeStats, type CacheResult } from "./stats.ts";
import { requestSession } from "./session.ts";

// GET /v1/feed: edge cache → coalesced origin read → failover region → KV trending → emergency page.
const WAITER_MAX_MS = 3000;

function respond(c: Context<EdgeEnv>, feed: FeedResponse, cache: CacheResult, originTiming?: string): Response {
  countResult(cache);
  const edgeMs = performance.now() - c.get("t0");
  c.header("x-cache", cache);
  c.header("x-fyp-source", feed.source);
  c.header("x-region", feed.region);
  c.header("x-degradation-level", String(feed.degradation_level));
  c.header("server-timing", [`edge;dur=${edgeMs.toFixed(1)}`, originTiming].filter(Boolean).join(", "));
  c.header("cache-control", "private, no-store");
  return c.json(feed);
}

export async function feedRoute(c: Context<EdgeEnv>): Promise<Response> {
  const cfg = edgeConfig(c.env);
  const q = FeedQuerySchema.safeParse(c.req.query());
  if (!q.success) throw fromZodError(q.error);
  const session = await requestSession(c);
  const preferred: Region = readRegion(cfg, {
    override: c.req.query("region") ?? c.req.header("x-fyp-region"),
    cf: (c.req.raw as unknown as { cf?: { country?: string; continent?: string } }).cf,
    homeRegion: session?.homeRegion,
  });
  const { count, cursor } = q.data;
  const route = await routeRead(c.env, preferred);
  if (route.level === 5 || route.candidates.length === 0) {
    return respond(c, await emergencyFeed(c.env.FYP_KV, preferred, count), "BYPASS");
  }
  const params = new URLSearchParams({ count: String(count) });
  if (cursor) params.set("cursor", cursor);
  if (session) params.set("user_id", session.userId);
  let lastErr: unknown;
  for (const region of route.candidates) {
    const who = session ? `u/${session.userId}` : "anon";
    const spec = {
      key: `feed/${who}/${region}/${count}/${cursor ?? "first"}`,
      region, path: `/internal/v1/feed?${params}`,
      ttlS: session ? TTL.edgeFeedPage : TTL.edgeAnonFeed, staleS: TTL.edgeFeedStale,
      shared: !session, maxWaitMs: WAITER_MAX_MS,
      // Every isolate of the origin follows the admin's forced level (KV), not just the one that got
      // the admin call.
      headers: { "x-request-id": c.get("requestId"), [FORCED_LEVEL_HEADER]: forcedOriginLevel(route.forced[region]) },
    };
    let r: ReadResult;
    try {
      r = await cachedRead(c.env, spec, c.executionCtx);
    } catch (e) {
      edgeStats.originErrors++;
      lastErr = e;
      continue; // next healthy region (level 4 failover for reads)
    }
    if (r.payload.status >= 400) {
      const body = JSON.parse(r.payload.body) as { error?: { code: string; message: string; field?: string } };
      throw new ApiError(r.payload.status as 400, body.error?.code ?? "bad_request", body.error?.message ?? "rejected", body.error?.field);
    }
    const feed = JSON.parse(r.payload.body) as FeedResponse;
    if (r.result === "HIT") feed.source = "edge-cache";
    else if (r.result === "STALE") feed.source = "stale";
    if (region !== preferred) feed.degradation_level = Math.max(feed.degradation_level, 4);
    else feed.degradation_level = Math.max(feed.degradation_level, route.level);
    return respond(c, feed, r.result, r.payload.headers["server-timing"]);
  }
  // No origin answered: pre-warmed trending from KV, else the emergency feed. Never a 5xx.
  edgeStats.fallbacks++;
  console.warn(`feed fallback for ${preferred}: ${(lastErr as Error)?.message}`);
  const t = await trendingFeed(c.env.FYP_KV, preferred, count, 4);
  return respond(c, t ?? (await emergencyFeed(c.env.FYP_KV, preferred, count)), "BYPASS");
}
