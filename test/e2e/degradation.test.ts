import { afterAll, describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { FeedResponseSchema, type FeedResponse } from "../../shared/contract.ts";
import { fault } from "./support/faults.ts";
import { countByKeys, residentUser, waitFor } from "./support/pg.ts";

// Origin degradation with real faults: Redis stopped → level 2, Postgres stopped → level 3 (cache only,
// limited), ranking made slow → breaker opens → level 1 with fallbacks. Every feed read answers 200.
const stack = inject("stack");
const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };

/** Straight to a region's origin (no edge cache in between), so each call shows the live level. */
async function originFeed(region: "us" | "eu" | "apac", user: string | null, count = 10): Promise<FeedResponse> {
  const q = new URLSearchParams({ count: String(count) });
  if (user) q.set("user_id", user);
  const res = await fetch(`${stack.originUrl[region]}/internal/v1/feed?${q}`, { headers: secret });
  expect(res.status).toBe(200);
  return FeedResponseSchema.parse(await res.json());
}

async function health(region: "us" | "eu" | "apac") {
  return (await (await fetch(`${stack.originUrl[region]}/internal/v1/health`, { headers: secret })).json()) as Record<string, any>;
}

afterAll(async () => {
  // Whatever happened, leave the stack whole for the next test file.
  await fault("redis", "start", "eu").catch(() => {});
  await fault("postgres", "start").catch(() => {});
  await fetch(`${stack.rankingUrl}/v1/admin/fault`, { method: "POST", headers: { ...secret, "content-type": "application/json" }, body: JSON.stringify({ delay_ms: 0, fail_rate: 0 }) }).catch(() => {});
});

describe("degradation levels from live signals", () => {
  it("Redis stopped → level 2 (content-based ranking from Postgres), back to 0 after restart", async () => {
    const user = await residentUser(stack.pgPort, "eu", 3);
    expect((await originFeed("eu", user)).degradation_level).toBe(0);
    await fault("redis", "stop", "eu");
    try {
      const degraded = await waitFor(async () => {
        const f = await originFeed("eu", user);
        return f.degradation_level === 2 ? f : null;
      }, 20_000, "level 2");
      expect(degraded.items.length).toBe(10);
      expect(degraded.limited).toBe(false);
      expect(["origin", "trending", "following"]).toContain(degraded.source);
    } finally {
      await fault("redis", "start", "eu");
    }
    await waitFor(async () => (await originFeed("eu", user)).degradation_level === 0, 20_000, "level 0 after Redis returns");
  });

  it("Postgres stopped → level 3: cache-only feed with limited: true; events wait and land exactly once", async () => {
    const user = await residentUser(stack.pgPort, "us", 4);
    const warm = await originFeed("us", user); // leaves cached recommendations in Redis
    expect(warm.source).toBe("origin");
    await originFeed("us", null); // and cached trending
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, user, "us");
    const keys = Array.from({ length: 5 }, (_, i) => `deg-${Date.now()}-${i}`);
    await fault("postgres", "stop");
    try {
      const f = await waitFor(async () => {
        const r = await originFeed("us", user);
        return r.degradation_level === 3 ? r : null;
      }, 20_000, "level 3");
      expect(f.limited).toBe(true);
      expect(["cached", "trending"]).toContain(f.source);
      expect(f.items.length).toBeGreaterThan(0);
      const anon = await originFeed("us", null);
      expect(anon.degradation_level).toBe(3);
      const res = await fetch(`${stack.edgeUrl}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ events: keys.map((k) => ({ type: "view", video_id: "v7", watch_ms: 500, ts: new Date().toISOString(), idempotency_key: k })) }),
      });
      expect(res.status).toBe(202);
    } finally {
      await fault("postgres", "start");
    }
    await waitFor(async () => (await countByKeys(stack.pgPort, "us", keys)).size === keys.length, 40_000, "queued events written after recovery");
    expect([...(await countByKeys(stack.pgPort, "us", keys)).values()]).toEqual([1, 1, 1, 1, 1]);
    await waitFor(async () => (await originFeed("us", user)).degradation_level === 0, 20_000, "level 0 after Postgres returns");
  });

  it("slow ranking (> 40 ms per try) opens the breaker after the minimum calls → level 1, feed answers from fallbacks", async () => {
    const set = (delay_ms: number) =>
      fetch(`${stack.rankingUrl}/v1/admin/fault`, { method: "POST", headers: { ...secret, "content-type": "application/json" }, body: JSON.stringify({ delay_ms, fail_rate: 0 }) });
    expect((await set(120)).status).toBe(200);
    try {
      // Users without cached recommendations, so every first page really calls the ranking service.
      const users = await Promise.all(Array.from({ length: 130 }, (_, i) => residentUser(stack.pgPort, "apac", 40 + i)));
      const sources = new Set<string>();
      for (let i = 0; i < users.length; i += 5) {
        const pages = await Promise.all(users.slice(i, i + 5).map((u) => originFeed("apac", u, 5)));
        for (const p of pages) sources.add(p.source);
      }
      const h = await health("apac");
      expect(h.breakers.ranking.state).toBe("OPEN");
      expect(h.degradation_level).toBeGreaterThanOrEqual(1);
      const f = await originFeed("apac", users[0], 7);
      expect(f.degradation_level).toBe(1);
      expect(["cached", "trending", "following"]).toContain(f.source);
      expect([...sources].every((s) => ["origin", "cached", "trending", "following"].includes(s))).toBe(true);
    } finally {
      await set(0);
    }
  });
});
