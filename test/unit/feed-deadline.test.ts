import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type AppEnv, type RequestDeps, Timings } from "../../origin/context.ts";
import type { OriginConfig } from "../../origin/env.ts";
import { FEED_DEADLINE_MS, FEED_RESCUE_MS, feedBulkhead, feedRoutes } from "../../origin/feed/route.ts";
import { Metrics } from "../../origin/metrics.ts";
import { OriginSignals } from "../../origin/signals.ts";
import { handleError } from "../../shared/errors.ts";
import { scriptedDb, scriptedRedis } from "../support/failing-deps.ts";

// The feed route's own deadline with its production value (1,750 ms: inside the edge's 2 s per-try wait,
// the seed's CDN origin row). Dependencies that never settle stand for a call that slipped past its own
// timeout (a hung socket, a driver bug): the request must still be answered, and its bulkhead slot freed,
// or hung work would shed every later request of the isolate.

function appWith(deps: Partial<RequestDeps>): { app: Hono<AppEnv>; metrics: Metrics } {
  const metrics = new Metrics("us");
  const d: RequestDeps = {
    cfg: { REGION: "us", MEDIA_BASE_URL: "https://media.test", INTERNAL_SECRET: "secret-secret", cursorSecret: "secret-secret", RANKING_URL: "http://127.0.0.1:9" } as OriginConfig,
    db: scriptedDb(() => "hang"), redis: scriptedRedis(() => "hang"), metrics, signals: new OriginSignals(), timings: new Timings(), waitUntil: () => {},
    ...deps,
  };
  const app = new Hono<AppEnv>();
  app.onError(handleError);
  feedRoutes(app, () => d);
  return { app, metrics };
}
const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };

describe("GET /internal/v1/feed under its deadline (production value)", () => {
  it("is 1,750 ms: the edge's 2 s per-try wait minus the cache-only answer's budget", () => {
    expect(FEED_DEADLINE_MS).toBe(1750);
    expect(FEED_DEADLINE_MS + FEED_RESCUE_MS).toBe(2000);
  });

  it("Postgres and Redis never settle: a 503 deadline_exceeded JSON answer inside the edge's 2 s, the slot freed, the deadline counted", async () => {
    const { app, metrics } = appWith({});
    const t0 = performance.now();
    const res = await app.request("/internal/v1/feed?count=5", {}, {}, ctx);
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const body = await res.json();
    expect(body.error.code).toBe("deadline_exceeded");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/); // no stack
    expect(elapsed).toBeGreaterThanOrEqual(FEED_DEADLINE_MS - 5);
    expect(elapsed).toBeLessThan(FEED_DEADLINE_MS + FEED_RESCUE_MS + 500);
    expect(feedBulkhead.active).toBe(0);
    expect(metrics.render()).toMatch(/fyp_origin_feed_deadline_exceeded_total\{region="us"\} 1/);
  });

  it("a request shed by a full bulkhead (12 hung pipelines) is answered within the rescue's budget, and all slots come back", async () => {
    const { app } = appWith({});
    const hung = Array.from({ length: 12 }, () => app.request("/internal/v1/feed?count=5", {}, {}, ctx));
    await new Promise((r) => setTimeout(r, 20));
    expect(feedBulkhead.active).toBe(12);
    const t0 = performance.now();
    const shed = await app.request("/internal/v1/feed?count=5", {}, {}, ctx);
    expect(performance.now() - t0).toBeLessThan(FEED_RESCUE_MS + 200);
    expect(shed.status).toBe(503);
    expect((await shed.json()).error.code).toBe("deadline_exceeded");
    expect((await Promise.all(hung)).map((r) => r.status)).toEqual(Array(12).fill(503));
    expect(feedBulkhead.active).toBe(0);
  });
});
