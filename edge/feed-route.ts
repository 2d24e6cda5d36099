import type { Context } from "hono";
import { TTL } from "../shared/config.ts";
import { FeedQuerySchema, type FeedResponse } from "../shared/contract.ts";
import { levelPolicy } from "../shared/degradation.ts";
import { ApiError, fromZodError } from "../shared/errors.ts";
import type { Region } from "../shared/regions.ts";
import type { EdgeEnv } from "./app-env.ts";
import { cachedRead, type ReadResult } from "./cached-read.ts";
import { pagesAhead } from "./chain-cache.ts";
import { feedJson, parseFeedPayload } from "./feed-body.ts";
import type { CachedPayload } from "./edge-cache.ts";
import { edgeConfig } from "./env.ts";
import { emergencyFeed, trendingFeed } from "./fallback.ts";
import { reportOriginError } from "./origin-error-report.ts";
import { readRegion, requestGeo } from "./region-router.ts";
import { routeRead, tryOrderLazy } from "./routing.ts";
import { FORCED_LEVEL_HEADER, forcedOriginLevel } from "../shared/forced-level-header.ts";
import { countResult, edgeStats, type CacheResult } from "./stats.ts";
import { apiResponse } from "./response-headers.ts";
import { requestSession } from "./session.ts";

// GET /v1/feed: edge cache → coalesced origin read → failover region → KV trending → emergency page.
const WAITER_MAX_MS = 3000;

function respond(c: Context<EdgeEnv>, feed: FeedResponse, cache: CacheResult, originTiming?: string): Response {
  countResult(cache);
  const edgeMs = `edge;dur=${(performance.now() - c.get("t0")).toFixed(1)}`;
  return apiResponse(c, feedJson(feed), 200, {
    "x-cache": cache, "x-fyp-source": feed.source, "x-region": feed.region, "x-degradation-level": String(feed.degradation_level),
    "server-timing": originTiming ? `${edgeMs}, ${originTiming}` : edgeMs, "cache-control": "private, no-store", "content-type": "application/json",
  });
}

/** Internal query parameters the origin may name in an error → what the client actually sent. */
const PUBLIC_FIELD: Record<string, string> = { user_id: "authorization" };

/** An origin 4xx relayed to the client: same status, code and message, public field, retry-after kept. */
function relayedError(payload: CachedPayload): ApiError {
  let err: { code?: string; message?: string; field?: string } = {};
  try {
    err = (JSON.parse(payload.body) as { error?: typeof err }).error ?? {};
  } catch {
    /* not JSON: generic message below */
  }
  const field = err.field === undefined ? undefined : (PUBLIC_FIELD[err.field] ?? err.field);
  const retryAfter = payload.headers["retry-after"];
  return new ApiError(payload.status as 400, err.code ?? "bad_request", err.message ?? "rejected", field, retryAfter ? { "retry-after": retryAfter } : undefined);
}

export async function feedRoute(c: Context<EdgeEnv>): Promise<Response> {
  const cfg = edgeConfig(c.env);
  const q = FeedQuerySchema.safeParse(c.req.query());
  if (!q.success) throw fromZodError(q.error);
  const session = await requestSession(c);
  // Geo (or, locally, the override) picks the region of anonymous reads and of failover reads; a
  // signed-in user's personal reads go to their home region, which alone holds their data (DESIGN §3).
  // request.cf is read lazily (it costs): a signed-in read that its home region answers never needs it. An
  // override is still checked up front (400 naming `region` whoever sends it).
  const override = c.req.query("region") ?? c.req.header("x-fyp-region");
  let geo: Region | undefined;
  const geoRegion = () => (geo ??= readRegion(cfg, { override, cf: () => requestGeo(c.req.raw) }));
  if (override) geoRegion();
  const preferred: Region = session?.homeRegion ?? geoRegion();
  const { count, cursor } = q.data;
  const route = await routeRead(c.env, preferred);
  if (levelPolicy(route.level).staticEmergencyPage || route.candidates.length === 0) {
    return respond(c, await emergencyFeed(c.env.FYP_KV, preferred, count), "BYPASS");
  }
  let lastErr: unknown;
  for (const region of tryOrderLazy(route.candidates, preferred, geoRegion)) {
    // Away from the home region (it is out of rotation or failing) a signed-in user gets that region's
    // non-personal feed, marked limited: no other region holds, or may hold, their data.
    const personal = session !== null && region === session.homeRegion;
    let r: ReadResult;
    try {
      r = await readFeed(c, { region, count, cursor, userId: personal ? session.userId : null, forced: route.forced[region] });
      if (!personal && session && cursor && r.payload.status === 400) {
        // The user's own cursor means nothing to another region's anonymous chain: start its first page.
        r = await readFeed(c, { region, count, cursor: undefined, userId: null, forced: route.forced[region] });
      }
    } catch (e) {
      edgeStats.originErrors++;
      c.executionCtx.waitUntil(reportOriginError(c.env, region, e)); // restarts a recovering region's error-free timer
      lastErr = e;
      continue; // next healthy region (level 4 failover for reads)
    }
    if (r.payload.status >= 400) throw relayedError(r.payload);
    const feed = parseFeedPayload(r.payload);
    if (r.result === "HIT") feed.source = "edge-cache";
    else if (r.result === "STALE") feed.source = "stale";
    if (region !== preferred) feed.degradation_level = Math.max(feed.degradation_level, 4);
    else feed.degradation_level = Math.max(feed.degradation_level, route.level);
    if (session && !personal) feed.limited = true;
    return respond(c, feed, r.result, r.payload.headers["server-timing"]);
  }
  // No origin answered: pre-warmed trending from KV, else the emergency feed. Never a 5xx.
  edgeStats.fallbacks++;
  console.warn(`feed fallback for ${preferred}: ${(lastErr as Error)?.message}`);
  const t = await trendingFeed(c.env.FYP_KV, preferred, count, 4);
  return respond(c, t ?? (await emergencyFeed(c.env.FYP_KV, preferred, count)), "BYPASS");
}

interface FeedRead {
  region: Region;
  count: number;
  cursor?: string;
  /** The signed-in user for a personal read in their home region; null = the region's anonymous feed. */
  userId: string | null;
  forced: number | undefined;
}

/**
 * One cached, coalesced origin feed read (anonymous keys are shared across users and isolates). The origin
 * sends the chain's next pages with it (edge/chain-cache.ts), stored under their cursors' keys.
 */
function readFeed(c: Context<EdgeEnv>, f: FeedRead): Promise<ReadResult> {
  // The origin path, written out (URLSearchParams cost ~2% of a cache HIT, which never uses it).
  const path = `/internal/v1/feed?count=${f.count}${f.cursor ? `&cursor=${encodeURIComponent(f.cursor)}` : ""}${f.userId ? `&user_id=${encodeURIComponent(f.userId)}` : ""}&ahead=${pagesAhead(f.count)}`;
  const who = f.userId ? `u/${f.userId}` : "anon";
  const keyFor = (cursor: string | undefined) => `feed/${who}/${f.region}/${f.count}/${cursor ?? "first"}`;
  return cachedRead(c.env, {
    key: keyFor(f.cursor),
    window: { keyFor, ttlS: TTL.edgeChainPage, staleS: TTL.edgeFeedStale },
    region: f.region, path,
    ttlS: f.userId ? TTL.edgeFeedPage : TTL.edgeAnonFeed, staleS: TTL.edgeFeedStale,
    shared: !f.userId, maxWaitMs: WAITER_MAX_MS,
    // Every isolate of the origin follows the admin's forced level (KV), not just the one that got
    // the admin call.
    headers: { "x-request-id": c.get("requestId"), [FORCED_LEVEL_HEADER]: forcedOriginLevel(f.forced) },
  }, c.executionCtx);
}
