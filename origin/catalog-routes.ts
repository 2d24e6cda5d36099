import type { Hono } from "hono";
import { TrendingResponseSchema, VideoResponseSchema } from "../shared/contract.ts";
import { ApiError } from "../shared/errors.ts";
import { formatUserId, formatVideoId, parseVideoId } from "../shared/ids.ts";
import { trendingIds } from "./candidates.ts";
import type { AppEnv, RequestDeps } from "./context.ts";
import { FeatureStore } from "./feature-store.ts";
import { toItem } from "./feed-items.ts";
import { readHot, writeHot } from "./hot-replicas.ts";
import type { Context } from "hono";

// Catalogue reads the edge pre-warms and caches: regional trending and single-video metadata.
export function catalogRoutes(app: Hono<AppEnv>, deps: (c: Context<AppEnv>) => RequestDeps): void {
  app.get("/internal/v1/trending", async (c) => {
    const d = deps(c);
    d.metrics.request("trending");
    const raw = c.req.query("count") ?? "100";
    const count = Number(raw);
    if (!Number.isInteger(count) || count < 1 || count > 500) throw new ApiError(400, "invalid_request", "must be an integer between 1 and 500", "count");
    const ids = await trendingIds(d.db, d.redis, d.cfg.REGION, count);
    const fs = new FeatureStore(d.redis, d.db, d.metrics);
    const { values } = await fs.videos(ids);
    const n = ids.length || 1;
    const items = ids.filter((id) => values.has(id)).map((id, i) => toItem(d.cfg, values.get(id)!, 1 - i / n, "trending"));
    return c.json(TrendingResponseSchema.parse({ region: d.cfg.REGION, items, generated_at: new Date().toISOString(), source: "origin" }));
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
        return c.body(replica, 200, { "content-type": "application/json", "x-replica": "hit" });
      }
      d.metrics.cache("app", "miss");
    }
    const fs = new FeatureStore(d.redis, d.db, d.metrics, d.signals.redis);
    const { values } = await fs.videos([id.toString()]);
    const v = values.get(id.toString());
    if (!v) throw new ApiError(404, "not_found", `no video ${formatVideoId(id)}`, "video_id");
    const item = toItem(d.cfg, v, 0, "explore");
    const body = JSON.stringify(
      VideoResponseSchema.parse({
        video_id: item.video_id, author_id: formatUserId(v.author), caption: v.caption, duration_ms: v.durationMs,
        video_url: item.video_url, thumbnail_url: item.thumbnail_url, stats: item.stats,
        created_at: new Date(v.createdMs).toISOString(), region: v.region,
      }),
    );
    if (hot) d.waitUntil(writeHot(d.redis, cacheKey, body));
    return c.body(body, 200, { "content-type": "application/json" });
  });
}
