import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../../shared/client/api-client.ts";
import { FeedController } from "../../shared/client/feed-controller.ts";
import { initialFeedState, isEmergency, reduceFeed, showLimitedBanner } from "../../shared/client/feed-state.ts";
import { MemoryFeedItemStore, mergeRecent, T1_MAX_ITEMS } from "../../shared/client/feed-store.ts";
import type { FeedItem, FeedResponse } from "../../shared/contract.ts";

// The feed state machine and its controller: tier-1 cache first, cursor paging without duplicates,
// the limited banner and the emergency switch — against a real HTTP server serving scripted pages.

const item = (n: number): FeedItem => ({
  video_id: `v${n}`, author_id: "u1", caption: `video ${n}`, duration_ms: 15000, video_url: "x", thumbnail_url: "y",
  stats: { views: n, likes: 0 }, score: 1 / n, reason: "trending",
});
const page = (ids: number[], next: string | null, over: Partial<FeedResponse> = {}): FeedResponse => ({
  items: ids.map(item), next_cursor: next, source: "origin", region: "eu", degradation_level: 0, limited: false,
  model_version: "m1", generated_at: new Date().toISOString(), ...over,
});

// cursor → response; "" is the first page. Each test sets its own script.
let pages = new Map<string, FeedResponse | number>();
let server: ReturnType<typeof createServer>;
let api: ApiClient;
const fast = { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: 1000 };

beforeAll(async () => {
  server = createServer((req, res) => {
    const cursor = new URL(req.url!, "http://x").searchParams.get("cursor") ?? "";
    const p = pages.get(cursor);
    if (typeof p === "number" || p === undefined) {
      res.writeHead(p ?? 404, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: { code: "unavailable", message: "scripted failure" } }));
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(p));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  api = new ApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, feedRetry: fast });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  pages = new Map();
});

describe("FeedController", () => {
  it("pages through the cursor chain, never showing a video twice, and ends on next_cursor null", async () => {
    pages.set("", page([1, 2, 3], "a")).set("a", page([3, 4, 5], "b")).set("b", page([6], null));
    const c = new FeedController({ api, store: new MemoryFeedItemStore(), scope: "u1", pageSize: 3 });
    await c.start();
    expect(c.state.phase).toBe("ready");
    await c.loadMore();
    await c.loadMore();
    await c.loadMore(); // after the end: no request
    expect(c.state.items.map((s) => s.item.video_id)).toEqual(["v1", "v2", "v3", "v4", "v5", "v6"]);
    expect(c.state.phase).toBe("end");
    expect(c.state).toMatchObject({ region: "eu", level: 0, limited: false, source: "origin", modelVersion: "m1" });
  });

  it("concurrent loadMore calls share one request", async () => {
    let hits = 0;
    pages.set("", page([1], "a"));
    const counting = { getFeed: (...a: Parameters<ApiClient["getFeed"]>) => (hits++, api.getFeed(...a)) };
    const c = new FeedController({ api: counting, store: new MemoryFeedItemStore(), scope: "anon" });
    await Promise.all([c.loadMore(), c.loadMore(), c.loadMore()]);
    expect(hits).toBe(1);
  });

  it("a reload paints the tier-1 cache before the network answers, then appends only new items", async () => {
    const store = new MemoryFeedItemStore();
    pages.set("", page([1, 2, 3], "a"));
    await new FeedController({ api, store, scope: "u1" }).start();

    pages.set("", page([2, 3, 4], "a", { region: "us", degradation_level: 1 }));
    const seen: string[][] = [];
    const c = new FeedController({ api, store, scope: "u1", onChange: (s) => seen.push(s.items.map((i) => `${i.item.video_id}:${i.origin}`)) });
    await c.start();
    expect(seen[0]).toEqual(["v1:t1-cache", "v2:t1-cache", "v3:t1-cache"]); // first paint: cache only
    expect(seen.at(-1)).toEqual(["v1:t1-cache", "v2:t1-cache", "v3:t1-cache", "v4:origin"]);
    expect(c.state).toMatchObject({ region: "us", level: 1 });
    // Another user on the same browser does not get u1's cache.
    expect(await store.load("u2")).toBeNull();
  });

  it("ignores a cache older than maxCacheAgeMs", async () => {
    const store = new MemoryFeedItemStore();
    await store.append("anon", [item(9)], { region: "us", level: 0 }, 1_000);
    pages.set("", page([1], null));
    const c = new FeedController({ api, store, scope: "anon", maxCacheAgeMs: 60_000, now: () => 1_000 + 61_000 });
    await c.start();
    expect(c.state.items.map((s) => s.item.video_id)).toEqual(["v1"]);
  });

  it("limited (level 3) turns the banner on; level 5 / source emergency switches to the emergency page and is not cached", async () => {
    pages.set("", page([1], "a", { degradation_level: 3, limited: true, source: "cached" })).set("a", page([2], null, { source: "emergency", degradation_level: 5, limited: true }));
    const store = new MemoryFeedItemStore();
    const c = new FeedController({ api, store, scope: "anon" });
    await c.start();
    expect(showLimitedBanner(c.state)).toBe(true);
    expect(c.state.phase).toBe("ready");
    await c.loadMore();
    expect(c.state.phase).toBe("emergency");
    expect((await store.load("anon"))!.items.map((i) => i.video_id)).toEqual(["v1"]);
    await c.loadMore(); // terminal
    expect(c.state.phase).toBe("emergency");
  });

  it("a failed page is an error state that the next loadMore retries from the same cursor", async () => {
    pages.set("", page([1], "a")).set("a", 503);
    const c = new FeedController({ api, store: new MemoryFeedItemStore(), scope: "anon" });
    await c.start();
    await c.loadMore();
    expect(c.state.phase).toBe("error");
    expect(c.state.error).toMatch(/503|gave up/);
    pages.set("a", page([2], null));
    await c.loadMore();
    expect(c.state.items.map((s) => s.item.video_id)).toEqual(["v1", "v2"]);
    expect(c.state.phase).toBe("end");
  });
});

describe("feed state and tier-1 store", () => {
  it("the emergency predicate and the banner follow DESIGN §3's levels", () => {
    expect(isEmergency({ source: "emergency", degradation_level: 4 })).toBe(true);
    expect(isEmergency({ source: "trending", degradation_level: 5 })).toBe(true);
    expect(isEmergency({ source: "trending", degradation_level: 4 })).toBe(false);
    const s = reduceFeed(initialFeedState, { type: "page", res: page([1], "a", { degradation_level: 2 }) });
    expect(showLimitedBanner(s)).toBe(false);
    expect(showLimitedBanner({ ...s, level: 3 })).toBe(true);
  });

  it("cache-loaded after the network page is ignored (no duplicate or stale rows)", () => {
    const s = reduceFeed(initialFeedState, { type: "page", res: page([1], "a") });
    expect(reduceFeed(s, { type: "cache-loaded", items: [item(1), item(2)], region: "us", level: 0 })).toBe(s);
  });

  it("keeps only the last 50 items, one per video, newest last", async () => {
    const store = new MemoryFeedItemStore();
    await store.append("u1", Array.from({ length: 40 }, (_, i) => item(i + 1)), { region: "us", level: 0 });
    await store.append("u1", Array.from({ length: 20 }, (_, i) => item(i + 31)), { region: "eu", level: 1 });
    const c = (await store.load("u1"))!;
    expect(c.items).toHaveLength(T1_MAX_ITEMS);
    expect(c.items.map((i) => i.video_id)).toEqual(Array.from({ length: 50 }, (_, i) => `v${i + 1}`));
    expect(c).toMatchObject({ region: "eu", level: 1 });
    await store.append("u1", [item(51), item(52), item(52)], { region: "eu", level: 1 });
    expect((await store.load("u1"))!.items.map((i) => i.video_id)).toEqual(Array.from({ length: 50 }, (_, i) => `v${i + 3}`));
    expect(mergeRecent([item(1), item(2)], [item(1)]).map((i) => i.video_id)).toEqual(["v2", "v1"]);
  });
});
