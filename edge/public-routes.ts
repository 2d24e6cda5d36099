import type { Hono } from "hono";
import { ApiError } from "../shared/errors.ts";
import { isRegion, type Region } from "../shared/regions.ts";
import type { EdgeEnv } from "./app-env.ts";
import { edgeConfig } from "./env.ts";
import { trendingFromKv } from "./fallback.ts";
import { KV } from "./kv-keys.ts";
import { prewarm } from "./prewarm.ts";
import { readRegion, requestGeo } from "./region-router.ts";

// KV-served public reads: trending (never waits on an origin) and the static emergency page.
export function publicRoutes(app: Hono<EdgeEnv>): void {
  app.get("/v1/trending", async (c) => {
    const cfg = edgeConfig(c.env);
    const q = c.req.query("region");
    if (q !== undefined && !isRegion(q)) throw new ApiError(400, "invalid_request", "must be one of us, eu, apac", "region");
    const region: Region = q ?? readRegion(cfg, { cf: requestGeo(c.req.raw) });
    const t = await trendingFromKv(c.env.FYP_KV, region);
    if (!t) {
      // Nothing pre-warmed yet: answer now with an empty list and fill KV in the background.
      c.executionCtx.waitUntil(prewarm(c.env).catch(() => {}));
      return c.json({ region, items: [], generated_at: new Date().toISOString(), source: "empty" }, 200, { "x-cache": "MISS" });
    }
    return c.json({ ...t, region: t.region }, 200, { "x-cache": "HIT", "cache-control": "public, max-age=30" });
  });

  app.get("/emergency", async (c) => {
    const cfg = edgeConfig(c.env);
    const q = c.req.query("region");
    if (q !== undefined && !isRegion(q)) throw new ApiError(400, "invalid_request", "must be one of us, eu, apac", "region");
    const region: Region = q ?? readRegion(cfg, { cf: requestGeo(c.req.raw) });
    const html = (await c.env.FYP_KV.get(KV.emergencyHtml(region))) ?? (await c.env.FYP_KV.get(KV.emergencyHtml("us")));
    return c.html(html ?? "<!doctype html><title>fyp-edge</title><p id=emergency-banner>We're having trouble right now. Please try again shortly.</p>", 200, {
      "cache-control": "public, max-age=60",
    });
  });
}
