import { describe, expect, it } from "vitest";
import { FEED_DEADLINE_MS, FEED_RESCUE_MS, feedBulkhead, feedRoutes } from "../../origin/feed/route.ts";
import { scriptedDb, scriptedRedis } from "../support/failing-deps.ts";
import { originTestApp, originTestDeps, TEST_EXECUTION_CTX as ctx } from "../support/origin-app.ts";

// The feed route's own deadline with its production value (1,750 ms: inside the edge's 2 s per-try wait,
// the seed's CDN origin row). Dependencies that never settle stand for a call that slipped past its own
// timeout (a hung socket, a driver bug): the request must still be answered, and its bulkhead slot freed,
// or hung work would shed every later request of the isolate.

/** The feed route over a Postgres and a Redis whose every call never settles (`redis` to override). */
function appWith(redis = scriptedRedis(() => "hang")) {
  const deps = originTestDeps(scriptedDb(() => "hang"), redis, { cursorSecret: "secret-secret", RANKING_URL: "http://127.0.0.1:9" });
  return { app: originTestApp(deps, feedRoutes), metrics: deps.metrics };
}

describe("GET /internal/v1/feed under its deadline (production value)", () => {
  it("is 1,750 ms: the edge's 2 s per-try wait minus the cache-only answer's budget", () => {
    expect(FEED_DEADLINE_MS).toBe(1750);
    expect(FEED_DEADLINE_MS + FEED_RESCUE_MS).toBe(2000);
  });

  it("Postgres and Redis never settle: a 503 deadline_exceeded JSON answer inside the edge's 2 s, the slot freed, the deadline counted", async () => {
    const { app, metrics } = appWith();
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
    const { app } = appWith();
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
