import { describe, expect, inject, it } from "vitest";
import { FeedResponseSchema, TrendingResponseSchema } from "../../shared/contract.ts";
import { mintSessionToken } from "../../shared/auth.ts";
import { fault } from "./support/faults.ts";
import { counter } from "./support/metrics.ts";
import { residentUser, waitFor } from "./support/pg.ts";
import { waitForFullWeight } from "./support/region-status.ts";

// Edge capabilities against the running stack: coalescing, caching, pre-warmed trending, level 5.
const stack = inject("stack");
const admin = { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}`, "content-type": "application/json" };

async function force(region: string, level: number | null) {
  const res = await fetch(`${stack.edgeUrl}/v1/admin/degradation`, { method: "POST", headers: admin, body: JSON.stringify({ region, level }) });
  expect(res.status).toBe(200);
}

describe("edge tier", () => {
  it("1,000 concurrent misses for one key make exactly one origin fetch, then the cache answers", async () => {
    // Other files may have restarted origins: wait for full health and warm the apac origin (a cold
    // workerd answering slower than the per-try timeout would be retried, which is not coalescing).
    await expect.poll(async () => {
      const s = await (await fetch(`${stack.edgeUrl}/v1/status`)).json();
      return Object.values(s.region_health.regions as Record<string, { weight: number }>).every((r) => r.weight === 1);
    }, { timeout: 30_000, interval: 500 }).toBe(true);
    await fetch(`${stack.originUrl.apac}/internal/v1/feed?count=3`, { headers: { "x-internal-secret": stack.secrets.INTERNAL_SECRET } });
    const count = 37; // a page size no other test asks for: a guaranteed cold key
    const before = await counter(`${stack.originUrl.apac}/metrics`, "fyp_origin_requests_total", { route: "feed" });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => fetch(`${stack.edgeUrl}/v1/feed?count=${count}&region=apac`).then(async (r) => ({ status: r.status, cache: r.headers.get("x-cache"), body: await r.json() }))),
    );
    const after = await counter(`${stack.originUrl.apac}/metrics`, "fyp_origin_requests_total", { route: "feed" });
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(after - before).toBe(1);
    const kinds = new Set(results.map((r) => r.cache));
    expect([...kinds].every((k) => k === "MISS" || k === "COALESCED" || k === "HIT")).toBe(true);
    expect(results.filter((r) => r.cache === "MISS").length).toBe(1);
    const again = await fetch(`${stack.edgeUrl}/v1/feed?count=${count}&region=apac`);
    expect(again.headers.get("x-cache")).toBe("HIT");
    expect(FeedResponseSchema.parse(await again.json()).source).toBe("edge-cache");
  });

  it("stale-while-revalidate: after the TTL a personalized page is served STALE at once and refreshed behind", async () => {
    const { residentUser } = await import("./support/pg.ts");
    const { mintSessionToken } = await import("../../shared/auth.ts");
    const user = await residentUser(stack.pgPort, "us", 50);
    const headers = { authorization: `Bearer ${await mintSessionToken(stack.secrets.SESSION_SECRET, user, "us")}` };
    const get = async () => {
      const r = await fetch(`${stack.edgeUrl}/v1/feed?count=8&region=us`, { headers });
      return { cache: r.headers.get("x-cache"), body: FeedResponseSchema.parse(await r.json()) };
    };
    expect((await get()).cache).toBe("MISS");
    expect((await get()).cache).toBe("HIT");
    await new Promise((r) => setTimeout(r, 16_000)); // personalized TTL is 15 s
    const stale = await get();
    expect(stale.cache).toBe("STALE");
    expect(stale.body.source).toBe("stale");
    await expect.poll(async () => (await get()).cache, { timeout: 10_000, interval: 300 }).toBe("HIT");
  }, 40_000);

  it("pre-warm fills KV; /v1/trending is served from KV", async () => {
    const pw = await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: admin });
    expect(pw.status).toBe(200);
    const res = await fetch(`${stack.edgeUrl}/v1/trending?region=eu`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("HIT");
    const body = TrendingResponseSchema.parse(await res.json());
    expect(body.region).toBe("eu");
    expect(body.items.length).toBeGreaterThan(10);
  });

  it("forced level 5 serves the emergency feed; releasing it restores the origin", async () => {
    await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: admin });
    await force("us", 5);
    try {
      const res = await fetch(`${stack.edgeUrl}/v1/feed?count=5&region=us`);
      expect(res.status).toBe(200);
      const body = FeedResponseSchema.parse(await res.json());
      expect(body.source).toBe("emergency");
      expect(body.degradation_level).toBe(5);
      expect(body.items.length).toBeGreaterThan(0);
      const page = await fetch(`${stack.edgeUrl}/emergency?region=us`);
      expect(await page.text()).toContain("emergency");
    } finally {
      await force("us", null);
    }
    const res = await fetch(`${stack.edgeUrl}/v1/feed?count=6&region=us`);
    const body = FeedResponseSchema.parse(await res.json());
    expect(body.source).not.toBe("emergency");
  });

  it("a forced origin level (1–3) reaches every origin isolate: it survives an origin restart and is released everywhere", async () => {
    const users = await Promise.all([61, 62].map((i) => residentUser(stack.pgPort, "us", i)));
    const page = async (u: string, count: number) => {
      const token = await mintSessionToken(stack.secrets.SESSION_SECRET, u, "us");
      const r = await fetch(`${stack.edgeUrl}/v1/feed?count=${count}&region=us`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      return FeedResponseSchema.parse(await r.json());
    };
    await force("us", 2);
    try {
      // A fresh isolate has no memory of the admin call: the level comes with the edge's request.
      await fault("origin", "stop", "us");
      await fault("origin", "start", "us");
      // The stop may have been long enough for RegionHealth to take us out (then 10% weight, level 4 for
      // most reads): the forced level is judged once us is back in full rotation.
      await waitForFullWeight(stack.edgeUrl);
      const body = await waitFor(async () => {
        const b = await page(users[0], 17);
        return b.region === "us" && b.degradation_level < 4 ? b : null;
      }, 30_000, "us origin serving again");
      expect(body.degradation_level).toBe(2);
      // Anonymous pages go through the Coalescer Durable Object: the level travels that way too.
      const anon = FeedResponseSchema.parse(await (await fetch(`${stack.edgeUrl}/v1/feed?count=19&region=us`)).json());
      expect(anon.degradation_level).toBe(2);
    } finally {
      await force("us", null);
    }
    expect((await page(users[1], 18)).degradation_level).toBe(0);
    await waitForFullWeight(stack.edgeUrl);
  });

  it("admin endpoints: 401 without a token, 403 with a wrong one; /openapi.json documents the contract", async () => {
    expect((await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST" })).status).toBe(401);
    expect((await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: { authorization: "Bearer nope-nope-nope-nope" } })).status).toBe(403);
    const doc = await (await fetch(`${stack.edgeUrl}/openapi.json`)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/feed", "/v1/events", "/v1/videos/{video_id}"]));
    const st = await (await fetch(`${stack.edgeUrl}/v1/status`)).json();
    expect(Object.keys(st.regions)).toEqual(["us", "eu", "apac"]);
  });
});
