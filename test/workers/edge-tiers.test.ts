import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../edge/app.ts";
import { cacheDelete, cacheGet, cachePut, clearMemoryTier, MEMORY_TIER } from "../../edge/edge-cache.ts";
import type { EdgeBindings } from "../../edge/env.ts";
import { clearPoolMemo, HOT_POOL, writeHotPool } from "../../edge/hot-pool.ts";
import { cachedSessionFromHeader, sessionCacheStats } from "../../edge/session-cache.ts";
import { mintSessionToken } from "../../shared/auth.ts";

// The edge's hit-path tiers inside workerd (issue 13), with the real Cache API and KV: the isolate-memory
// tier in front of the Cache API, the pushed hot-video pool, and verified sessions kept per isolate. The
// origins of this config are unreachable (.invalid), so anything served here came from the edge itself.
const e = env as unknown as EdgeBindings;
const payload = (body: string) => ({ status: 200, body, headers: { "content-type": "application/json" } });

async function get(path: string) {
  const ctx = createExecutionContext();
  const res = await app.request(path, {}, e, ctx);
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, cache: res.headers.get("x-cache"), tier: res.headers.get("x-cache-tier"), body };
}

describe("memory tier in front of the Cache API", () => {
  it("a put is served from memory at once, then from the Cache API once the memory copy has expired", async () => {
    const now = Date.now();
    await cachePut("t/one", payload('{"n":1}'), 60, 60, now);
    expect(await cacheGet("t/one", 60, now + 10)).toMatchObject({ tier: "memory", fresh: true, payload: { body: '{"n":1}' } });
    // Past the memory tier's few seconds the Cache API answers (and refills memory) with the same age.
    const later = await cacheGet("t/one", 60, now + MEMORY_TIER.ttlMs + 1);
    expect(later).toMatchObject({ tier: "cache", fresh: true, payload: { body: '{"n":1}' } });
    expect(later!.ageS).toBeCloseTo((MEMORY_TIER.ttlMs + 1) / 1000, 1);
    expect((await cacheGet("t/one", 60, now + MEMORY_TIER.ttlMs + 2))?.tier).toBe("memory");
  });

  it("freshness comes from the ttl the entry was stored with, in both tiers", async () => {
    const now = Date.now();
    await cachePut("t/chain", payload("{}"), 300, 120, now);
    expect((await cacheGet("t/chain", 15, now + 100_000))?.fresh).toBe(true); // memory copy gone; Cache API: 100 s < 300 s
    clearMemoryTier();
    expect(await cacheGet("t/chain", 15, now + 1000)).toMatchObject({ tier: "cache", fresh: true });
  });

  it("a delete empties both tiers", async () => {
    await cachePut("t/del", payload("{}"), 60, 60);
    await cacheDelete("t/del");
    expect(await cacheGet("t/del", 60)).toBeNull();
  });
});

describe("pushed hot-video pool", () => {
  const body = (id: string) => JSON.stringify({ video_id: id, author_id: "u1", caption: "pooled", duration_ms: 1000, video_url: "https://m/a.mp4", thumbnail_url: "https://m/a.jpg", stats: { views: 5, likes: 1 }, created_at: "2026-11-29T00:00:00.000Z", region: "eu" });

  it("a first read of a pooled video is a HIT without any origin, and stays in memory", async () => {
    clearPoolMemo();
    await writeHotPool(e.FYP_KV, new Map([["v9100001", body("v9100001")], ["v9100002", body("v9100002")]]));
    const r = await get("/v1/videos/v9100001?region=us");
    expect(r).toMatchObject({ status: 200, cache: "HIT", tier: "pool" });
    expect(JSON.parse(r.body)).toEqual(JSON.parse(body("v9100001")));
    expect(await get("/v1/videos/v9100001?region=us")).toMatchObject({ status: 200, cache: "HIT", tier: "memory" });
  });

  it("a copy older than the push cadence is only a STALE fallback, and an edit made here hides the pooled copy", async () => {
    clearPoolMemo();
    await writeHotPool(e.FYP_KV, new Map([["v9100003", body("v9100003")], ["v9100004", body("v9100004")]]), Date.now() - (HOT_POOL.freshS + 5) * 1000);
    // The origins cannot answer: the old pooled copy beats a 503.
    expect(await get("/v1/videos/v9100003?region=us")).toMatchObject({ status: 200, cache: "STALE", tier: "pool" });
    clearPoolMemo();
    await writeHotPool(e.FYP_KV, new Map([["v9100004", body("v9100004")]]), Date.now() - 1000);
    await cacheDelete("video/v9100004"); // what PATCH /v1/videos/:id does after an edit
    const r = await get("/v1/videos/v9100004?region=us");
    expect(r.status).toBe(503); // not the pre-edit copy
  }, 20_000);
});

describe("verified sessions per isolate", () => {
  it("verifies a token once, never under another secret, and not past its expiry", async () => {
    const secret = (e as unknown as { SESSION_SECRET: string }).SESSION_SECRET;
    const t = `Bearer ${await mintSessionToken(secret, "u77", "eu", 600)}`;
    const s0 = sessionCacheStats();
    expect(await cachedSessionFromHeader(t, secret)).toEqual({ userId: "u77", homeRegion: "eu" });
    expect(await cachedSessionFromHeader(t, secret)).toEqual({ userId: "u77", homeRegion: "eu" });
    expect(sessionCacheStats().hits - s0.hits).toBe(1);
    await expect(cachedSessionFromHeader(t, "another-secret-0123456789abcdef")).rejects.toMatchObject({ status: 401 });
    // At its expiry the memo no longer answers: the token is verified again (and refused by then).
    const misses = sessionCacheStats().misses;
    await cachedSessionFromHeader(t, secret, {}, Date.now() + 601_000).catch(() => null);
    expect(sessionCacheStats().misses - misses).toBe(1);
    const expired = `Bearer ${await mintSessionToken(secret, "u77", "eu", -120)}`;
    await expect(cachedSessionFromHeader(expired, secret)).rejects.toMatchObject({ status: 401 });
    await expect(cachedSessionFromHeader(expired, secret)).rejects.toMatchObject({ status: 401 });
  });
});
