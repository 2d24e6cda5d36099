import { describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { FeedResponseSchema, TrendingResponseSchema } from "../../shared/contract.ts";
import { HOT_POOL } from "../../edge/hot-pool.ts";
import { HOT_HEAD_MAX } from "../../origin/catalog-routes.ts";
import { counter } from "./support/metrics.ts";
import { residentUser, waitFor, withRegionDb } from "./support/pg.ts";
import { waitForFullWeight } from "./support/region-status.ts";

// Issue 13, beyond a key cache, against the real stack: the origin sends a ranked chain's next pages with
// a page and the edge stores them under their cursors, so continuation pages are edge hits that never
// repeat a video; the pre-warm pushes the hottest videos' metadata to the edge, so first reads of
// popular videos never reach an origin.
const stack = inject("stack");
const admin = { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}` };

describe("edge chain cache and hot-video push", () => {
  it("continuation pages of a chain are HITs from the window the origin sent, and never repeat a video", async () => {
    await waitForFullWeight(stack.edgeUrl);
    // A loaded fresh stack may answer the first reads from a fallback (or another region): wait until the
    // us origin serves another user's personal page at level 0 (each count a fresh edge key).
    const other = { authorization: `Bearer ${await mintSessionToken(stack.secrets.SESSION_SECRET, await residentUser(stack.pgPort, "us", 72), "us")}` };
    let probe = 11;
    await waitFor(async () => {
      const b = FeedResponseSchema.parse(await (await fetch(`${stack.edgeUrl}/v1/feed?count=${++probe}&region=us`, { headers: other })).json());
      return b.region === "us" && b.degradation_level === 0;
    }, 30_000, "a level-0 personal us feed");
    const user = await residentUser(stack.pgPort, "us", 71);
    const headers = { authorization: `Bearer ${await mintSessionToken(stack.secrets.SESSION_SECRET, user, "us")}` };
    const feedCount = () => counter(`${stack.originUrl.us}/metrics`, "fyp_origin_requests_total", { route: "feed" });
    const count = 10; // 9 pages ahead (edge/chain-cache.ts pagesAhead)
    const seen = new Set<string>();
    let cursor: string | null = null;
    const pages: { cache: string | null; origin: number; level: number; source: string }[] = [];
    for (let p = 0; p < 12; p++) {
      const before = await feedCount();
      const res = await fetch(`${stack.edgeUrl}/v1/feed?count=${count}&region=us${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { headers });
      expect(res.status).toBe(200);
      const body = FeedResponseSchema.parse(await res.json());
      pages.push({ cache: res.headers.get("x-cache"), origin: (await feedCount()) - before, level: body.degradation_level, source: body.source });
      expect(body.items.length).toBeGreaterThan(0);
      for (const it of body.items) {
        expect(seen.has(it.video_id), `page ${p} repeats ${it.video_id}`).toBe(false);
        seen.add(it.video_id);
      }
      cursor = body.next_cursor;
      expect(cursor).toBeTruthy();
    }
    // Page 1 asks the origin (and gets pages 2–10 with it); 2–10 are HITs that cost the origin nothing;
    // page 11 is past the window (a MISS that brings 12–20); page 12 is a HIT again.
    expect(pages[0]).toMatchObject({ cache: "MISS", origin: 1, level: 0 });
    for (const p of pages.slice(1, 10)) expect(p).toMatchObject({ cache: "HIT", origin: 0, source: "edge-cache", level: pages[0].level });
    expect(pages[10]).toMatchObject({ cache: "MISS", origin: 1 });
    expect(pages[11]).toMatchObject({ cache: "HIT", origin: 0 });
    expect(seen.size).toBe(pages.length * count);
  });

  it("the origin refuses a bad `ahead` with a 400 naming the field", async () => {
    const res = await fetch(`${stack.originUrl.us}/internal/v1/feed?count=5&ahead=10`, { headers: { "x-internal-secret": stack.secrets.INTERNAL_SECRET } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.field).toBe("ahead");
  });

  it("after a pre-warm, first reads of the region's hottest videos are answered at the edge, not by an origin", async () => {
    const pw = await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: admin });
    expect(pw.status).toBe(200);
    const report = await pw.json();
    expect(report.hot_pool).toBeGreaterThan(100);
    const trending = TrendingResponseSchema.parse(await (await fetch(`${stack.edgeUrl}/v1/trending?region=apac`)).json());
    const ids = trending.items.slice(40, 70).map((i) => i.video_id);
    const videoCount = () => Promise.all(["us", "eu", "apac"].map((r) => counter(`${stack.originUrl[r as "us"]}/metrics`, "fyp_origin_requests_total", { route: "video" })));
    const before = await videoCount();
    const reads = await Promise.all(ids.map(async (id) => {
      const r = await fetch(`${stack.edgeUrl}/v1/videos/${id}?region=apac`);
      return { status: r.status, cache: r.headers.get("x-cache"), tier: r.headers.get("x-cache-tier"), id: (await r.json()).video_id };
    }));
    const after = await videoCount();
    expect(reads.every((r) => r.status === 200 && r.cache === "HIT")).toBe(true);
    expect(reads.map((r) => r.id)).toEqual(ids);
    expect(reads.some((r) => r.tier === "pool")).toBe(true);
    expect(after).toEqual(before); // no origin read a single one
  });

  it("the pool also holds each region's most-viewed uploads that are not trending: their first reads anywhere are edge HITs", async () => {
    const internal = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };
    const hot = async (qs: string) => {
      const r = await fetch(`${stack.originUrl.eu}/internal/v1/hot-videos?${qs}`, { headers: internal });
      expect(r.status).toBe(200);
      return ((await r.json()) as { videos: { video_id: string }[] }).videos.map((v) => v.video_id);
    };
    const trendingOnly = new Set(await hot(`count=${HOT_POOL.perRegion}`));
    const withHead = await hot(`count=${HOT_POOL.perRegion}&head=${HOT_POOL.headPerRegion}`);
    expect(withHead.length).toBeGreaterThan(trendingOnly.size);
    // eu's own uploads, most viewed first, that are not trending in eu: read from another region.
    const head = await withRegionDb(stack.pgPort, "eu", async (c) =>
      (await c.query(`SELECT video_id FROM videos WHERE status = 'active' AND upload_region = 'eu' ORDER BY views DESC LIMIT $1`, [HOT_POOL.headPerRegion])).rows.map((r) => `v${r.video_id}`));
    const ids = head.filter((id) => !trendingOnly.has(id)).slice(0, 20);
    expect(ids.length).toBe(20);
    for (const id of ids) expect(withHead).toContain(id);
    const pw = await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: admin });
    expect(pw.status).toBe(200);
    const videoCount = () => Promise.all(["us", "eu", "apac"].map((r) => counter(`${stack.originUrl[r as "us"]}/metrics`, "fyp_origin_requests_total", { route: "video" })));
    const before = await videoCount();
    const reads = await Promise.all(ids.map(async (id) => {
      const r = await fetch(`${stack.edgeUrl}/v1/videos/${id}?region=us`);
      return { status: r.status, cache: r.headers.get("x-cache"), tier: r.headers.get("x-cache-tier") };
    }));
    expect(reads.every((r) => r.status === 200 && r.cache === "HIT" && r.tier === "pool")).toBe(true);
    expect(await videoCount()).toEqual(before);
  });

  it("the origin refuses a bad hot-pool `head` with a 400 naming the field", async () => {
    for (const head of ["-1", String(HOT_HEAD_MAX + 1), "abc", ""]) {
      const res = await fetch(`${stack.originUrl.us}/internal/v1/hot-videos?count=10&head=${head}`, { headers: { "x-internal-secret": stack.secrets.INTERNAL_SECRET } });
      expect(res.status).toBe(400);
      expect((await res.json()).error.field).toBe("head");
    }
  });
});
