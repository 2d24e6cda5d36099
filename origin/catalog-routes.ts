import type { Hono } from "hono";
import { TrendingResponseSchema, VideoResponseSchema } from "../shared/contract.ts";
import { ApiError } from "../shared/errors.ts";
import { formatUserId, formatVideoId, parseVideoId } from "../shared/ids.ts";
import { regionalHeadIds, trendingIds } from "./candidates.ts";
import type { AppEnv, RequestDeps } from "./context.ts";
import { FeatureStore, type VideoFeatures } from "./feature-store.ts";
import { toItem } from "./feed-items.ts";
import { readHot, writeHot } from "./hot-replicas.ts";
import { liveCounts, withLiveCounts } from "./live-stats.ts";
import type { Context } from "hono";

/** Most trending videos one hot-pool read returns (the edge pushes HOT_POOL.perRegion of them, edge/hot-pool.ts). */
export const HOT_VIDEOS_MAX = 5000;
/** Most of the region's most-viewed uploads one hot-pool read adds (the edge asks for HOT_POOL.headPerRegion). */
export const HOT_HEAD_MAX = 20_000;
const HOT_VIDEOS_SLICE = 200;

/** An integer query parameter in [min, max] (default when absent); 400 naming the field otherwise. */
function intParam(raw: string | undefined, field: string, min: number, max: number, dflt: number): number {
  const n = raw === undefined ? dflt : /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new ApiError(400, "invalid_request", `must be an integer between ${min} and ${max}`, field);
  return n;
}

/** Live counts read Postgres unless this origin is at level 3 (the database is not to be touched). */
const dbAllowed = (d: RequestDeps) => d.signals.level().level < 3;
/** Redis for the unflushed increments, unless it is known to be down. */
const liveRedis = (d: RequestDeps) => (d.signals.redis.view().available ? d.redis : null);

/** The JSON body of GET /internal/v1/videos/:id (and of each hot-pool entry) for one video. */
function videoBody(cfg: RequestDeps["cfg"], v: VideoFeatures): string {
  const item = toItem(cfg, v, 0, "explore");
  return JSON.stringify(
    VideoResponseSchema.parse({
      video_id: item.video_id, author_id: formatUserId(v.author), caption: v.caption, duration_ms: v.durationMs,
      video_url: item.video_url, thumbnail_url: item.thumbnail_url, stats: item.stats,
      created_at: new Date(v.createdMs).toISOString(), region: v.region,
    }),
  );
}

// Catalogue reads the edge pre-warms and caches: regional trending, single-video metadata, and the hot
// pool (the metadata of the region's hottest videos in one read, pushed to every edge by the pre-warm).
export function catalogRoutes(app: Hono<AppEnv>, deps: (c: Context<AppEnv>) => RequestDeps): void {
  app.get("/internal/v1/trending", async (c) => {
    const d = deps(c);
    d.metrics.request("trending");
    const count = intParam(c.req.query("count"), "count", 1, 500, 100);
    const ids = await trendingIds(d.db, d.redis, d.cfg.REGION, count);
    const fs = new FeatureStore(d.redis, d.db, d.metrics);
    const read = await fs.videos(ids);
    const values = await withLiveCounts(d.db, read.redisOk ? liveRedis(d) : null, read.values, dbAllowed(d));
    const n = ids.length || 1;
    const items = ids.filter((id) => values.has(id)).map((id, i) => toItem(d.cfg, values.get(id)!, 1 - i / n, "trending"));
    return c.json(TrendingResponseSchema.parse({ region: d.cfg.REGION, items, generated_at: new Date().toISOString(), source: "origin" }));
  });

  // GET /internal/v1/hot-videos?count=N&head=M → { region, generated_at, videos: [{ video_id, body }] }: the
  // region's N hottest videos (regional trending order; 1..HOT_VIDEOS_MAX, default 2000), then its M
  // most-viewed uploads not already listed (0..HOT_HEAD_MAX, default 0); body is the exact JSON
  // GET /internal/v1/videos/:id answers. 400 (field count or head) for a bad value.
  app.get("/internal/v1/hot-videos", async (c) => {
    const d = deps(c);
    d.metrics.request("hot_videos");
    const count = intParam(c.req.query("count"), "count", 1, HOT_VIDEOS_MAX, 2000);
    const head = intParam(c.req.query("head"), "head", 0, HOT_HEAD_MAX, 0);
    // A batch job's reads, not a page view's: on the pool that feeds no health signal (d.batchDb: a
    // 10,000-row query or a slow bulk feature read must never move this region's degradation level), the
    // features in slices (each one ordinary feature read).
    const db = d.batchDb();
    const [trending, top] = await Promise.all([
      trendingIds(db, d.redis, d.cfg.REGION, count),
      head > 0 ? regionalHeadIds(db, d.redis, d.cfg.REGION, head) : Promise.resolve([]),
    ]);
    const ids = [...new Set([...trending, ...top])];
    const fs = new FeatureStore(d.redis, db, d.metrics);
    const videos: { video_id: string; body: string }[] = [];
    for (let i = 0; i < ids.length; i += HOT_VIDEOS_SLICE) {
      const slice = ids.slice(i, i + HOT_VIDEOS_SLICE);
      const { values } = await fs.videos(slice);
      for (const id of slice) if (values.has(id)) videos.push({ video_id: formatVideoId(id), body: videoBody(d.cfg, values.get(id)!) });
    }
    return c.json({ region: d.cfg.REGION, generated_at: new Date().toISOString(), videos });
  });

  app.get("/internal/v1/videos/:id", async (c) => {
    const d = deps(c);
    d.metrics.request("video");
    const id = parseVideoId(c.req.param("id"));
    if (id === null) throw new ApiError(400, "invalid_request", "must look like v123", "video_id");
    const hot = c.req.query("hot") === "1";
    const cacheKey = `video:${id}`;
    if (hot) {
      const replica = await readHot(d.redis, cacheKey).catch(() => null);
      if (replica) {
        d.metrics.cache("app", "hit");
        // The replica's metadata, with live counts (kept per isolate for 2 s, so a hot video costs little).
        const body = JSON.parse(replica) as { stats: { views: number; likes: number } };
        const live = (await liveCounts(d.db, liveRedis(d), new Map([[id.toString(), body.stats]]), dbAllowed(d))).get(id.toString())!;
        body.stats = { views: Math.max(0, live.views), likes: Math.max(0, live.likes) };
        return c.body(JSON.stringify(body), 200, { "content-type": "application/json", "x-replica": "hit" });
      }
      d.metrics.cache("app", "miss");
    }
    const fs = new FeatureStore(d.redis, d.db, d.metrics, d.signals.redis);
    const { values, redisOk } = await fs.videos([id.toString()]);
    const v = (await withLiveCounts(d.db, redisOk ? liveRedis(d) : null, values, dbAllowed(d))).get(id.toString());
    if (!v) throw new ApiError(404, "not_found", `no video ${formatVideoId(id)}`, "video_id");
    const body = videoBody(d.cfg, v);
    if (hot) d.waitUntil(writeHot(d.redis, cacheKey, body));
    return c.body(body, 200, { "content-type": "application/json" });
  });
}
