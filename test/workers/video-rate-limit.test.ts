import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { app } from "../../edge/app.ts";
import { cachePut } from "../../edge/edge-cache.ts";
import type { EdgeBindings } from "../../edge/env.ts";
import { setForcedLevel } from "../../edge/forced-levels.ts";
import { HOT_DEFAULTS } from "../../edge/hot-keys.ts";
import { KV } from "../../edge/kv-keys.ts";
import { edgeStats } from "../../edge/stats.ts";
import { hotKeys } from "../../edge/video-route.ts";
import { TTL } from "../../shared/config.ts";
import { expectErrorShape } from "../support/error-shape.ts";

// GET /v1/videos/:id over its per-video origin budget (DESIGN §2: "per-video rate limit protecting the
// origin — excess served from cache/stale, or 429 with retry-after when nothing is cached"), inside workerd
// with the real Cache API and KV. The budget is the isolate's token bucket (edge/hot-keys.ts, production
// defaults); the test spends it directly, so the next read is over budget without a burst of origin calls.
// The clock (Date only) stands still in each test, so no token is refilled between the spend and the read.
// The origins of this config are unreachable: a read that reached one would be a 503, not these answers.
const e = env as unknown as EdgeBindings;
const body = (id: string) => JSON.stringify({ video_id: id, author_id: "u1", caption: "kept", duration_ms: 1000, video_url: "https://m/a.mp4", thumbnail_url: "https://m/a.jpg", stats: { views: 5, likes: 1 }, created_at: "2026-11-29T00:00:00.000Z", region: "us" });

/** Spend the whole origin budget of `vid` in this isolate. */
function spendBudget(vid: string): void {
  for (let i = 0; i < HOT_DEFAULTS.originBurst; i++) hotKeys.takeOriginToken(vid);
  expect(hotKeys.takeOriginToken(vid)).toBe(false);
}

async function get(vid: string) {
  const ctx = createExecutionContext();
  const res = await app.request(`/v1/videos/${vid}?region=us`, {}, e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("per-video origin rate limit", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("over budget with nothing cached: 429 rate_limited with retry-after, counted in the edge stats", async () => {
    const vid = "v9200001";
    spendBudget(vid);
    const before = edgeStats.rateLimited;
    const res = await get(vid);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await expectErrorShape(res)).error.code).toBe("rate_limited");
    expect(edgeStats.rateLimited).toBe(before + 1);
  });

  it("over budget with a stale copy in the Cache API: the stale copy, not a 429", async () => {
    const vid = "v9200002";
    await cachePut(`video/${vid}`, { status: 200, body: body(vid), headers: { "content-type": "application/json" } }, TTL.edgeVideo, TTL.edgeVideoStale, Date.now() - (TTL.edgeVideo + 10) * 1000);
    spendBudget(vid);
    const res = await get(vid);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("STALE");
    expect(JSON.parse(await res.text()).video_id).toBe(vid);
  });

  it("over budget with the hot-key copy in KV (published when the key ran hot): that copy, not a 429", async () => {
    const vid = "v9200003";
    await e.FYP_KV.put(KV.hotVideo(vid), body(vid));
    spendBudget(vid);
    const res = await get(vid);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("STALE");
    expect(res.headers.get("x-cache-tier")).toBe("pool");
    expect(JSON.parse(await res.text()).video_id).toBe(vid);
  });

  it("no region can serve (level 5) and a stale copy in the Cache API: the stale copy, not a 503", async () => {
    const vid = "v9200004";
    await cachePut(`video/${vid}`, { status: 200, body: body(vid), headers: { "content-type": "application/json" } }, TTL.edgeVideo, TTL.edgeVideoStale, Date.now() - (TTL.edgeVideo + 10) * 1000);
    await setForcedLevel(e.FYP_KV, "us", 5);
    try {
      const res = await get(vid);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cache")).toBe("STALE");
      expect(JSON.parse(await res.text()).video_id).toBe(vid);
    } finally {
      await setForcedLevel(e.FYP_KV, "us", null);
    }
  });
});
