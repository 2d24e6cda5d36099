import { describe, expect, it } from "vitest";
import { CHAIN_WINDOW, pagesAhead, splitWindow } from "../../edge/chain-cache.ts";
import { feedJson, parseFeedPayload } from "../../edge/feed-body.ts";
import { HOT_POOL, poolShards, shardOf } from "../../edge/hot-pool.ts";
import { IsolateCache } from "../../edge/isolate-cache.ts";
import type { FeedResponse } from "../../shared/contract.ts";

// The edge's isolate-memory pieces (issue 13) on explicit clocks: the bounded LRU with expiry, the split
// of an origin window into cursor-keyed pages, and the hot pool's sharding.
describe("IsolateCache", () => {
  it("is bounded by entries: the least recently used goes first", () => {
    const c = new IsolateCache<string>({ maxEntries: 3, maxBytes: 1000 });
    for (const k of ["a", "b", "c"]) c.set(k, k, 10, 10_000, 0);
    expect(c.get("a", 1)).toBe("a"); // a is now the most recent
    c.set("d", "d", 10, 10_000, 2);
    expect(c.size).toBe(3);
    expect(c.get("b", 3)).toBeUndefined();
    expect(["a", "c", "d"].map((k) => c.get(k, 3))).toEqual(["a", "c", "d"]);
  });

  it("is bounded by bytes, and refuses an entry over maxEntryBytes without evicting the hot set", () => {
    const c = new IsolateCache<string>({ maxEntries: 100, maxBytes: 100, maxEntryBytes: 40 });
    for (const k of ["a", "b", "c"]) c.set(k, k, 30, 10_000, 0);
    expect(c.bytes).toBe(90);
    c.set("d", "d", 30, 10_000, 1); // 120 > 100: the oldest (a) goes
    expect(c.bytes).toBeLessThanOrEqual(100);
    expect(c.get("a", 2)).toBeUndefined();
    expect(c.set("big", "x", 41, 10_000, 2)).toBe(false);
    expect(c.get("big", 2)).toBeUndefined();
    expect(["b", "c", "d"].every((k) => c.get(k, 3) === k)).toBe(true);
  });

  it("never returns an entry at or after its expiry, and forgets deleted ones", () => {
    const c = new IsolateCache<number>({ maxEntries: 10, maxBytes: 1000 });
    c.set("k", 1, 8, 5000, 0);
    expect(c.get("k", 4999)).toBe(1);
    expect(c.get("k", 5000)).toBeUndefined();
    expect(c.size).toBe(0); // dropped on the expired read
    expect(c.set("late", 2, 8, 100, 100)).toBe(false); // already expired: not kept
    c.set("x", 3, 8, 5000, 0);
    c.delete("x");
    expect(c.get("x", 1)).toBeUndefined();
    expect(c.hits).toBe(1);
  });
});

const page = (ids: string[], next: string | null): FeedResponse => ({
  items: ids.map((id) => ({ video_id: id, author_id: "u1", caption: "c", duration_ms: 1000, video_url: "https://m/x.mp4", thumbnail_url: "https://m/x.jpg", stats: { views: 1, likes: 0 }, score: 0.5, reason: "trending" })),
  next_cursor: next, source: "origin", region: "us", degradation_level: 0, limited: false, model_version: "m1", generated_at: "2026-11-29T00:00:00.000Z",
});

describe("chain window at the edge", () => {
  it("asks ceil(100 / count) − 1 pages ahead, at most 9", () => {
    expect(CHAIN_WINDOW.items).toBe(100);
    expect([1, 10, 11, 25, 34, 50].map(pagesAhead)).toEqual([9, 9, 9, 3, 2, 1]);
  });

  it("serves the first page without `ahead` and keys page k+1 by page k's next_cursor", () => {
    const body = JSON.stringify({ ...page(["v1", "v2"], "c1"), ahead: [page(["v3", "v4"], "c2"), page(["v5"], null), page(["v9"], "cx")] });
    const { page: first, ahead } = splitWindow({ status: 200, body, headers: { "content-type": "application/json", "server-timing": "origin;dur=3" } }, (c) => `k/${c}`);
    expect(JSON.parse(first.body)).toEqual(page(["v1", "v2"], "c1"));
    expect(first.headers["server-timing"]).toBe("origin;dur=3");
    // The page after a null next_cursor ends the window: nothing can request it.
    expect(ahead.map((a) => a.key)).toEqual(["k/c1", "k/c2"]);
    expect(ahead.map((a) => a.limited)).toEqual([false, false]);
    expect(ahead.map((a) => (JSON.parse(a.payload.body) as FeedResponse).items.map((i) => i.video_id))).toEqual([["v3", "v4"], ["v5"]]);
  });

  it("leaves anything else alone: errors, plain pages, bodies that are not JSON", () => {
    for (const p of [{ status: 400, body: '{"error":{"code":"x","message":"y"},"ahead":1}', headers: {} }, { status: 200, body: JSON.stringify(page(["v1"], "c")), headers: {} }, { status: 200, body: '"ahead" but not json {', headers: {} }]) {
      const s = splitWindow(p, (c) => c);
      expect(s.page).toBe(p);
      expect(s.ahead).toEqual([]);
    }
  });
});

describe("hot pool shards", () => {
  it("spreads ids over every shard deterministically and loses none", () => {
    const bodies = new Map(Array.from({ length: 6000 }, (_, i) => [`v${i + 1}`, `{"video_id":"v${i + 1}"}`]));
    const shards = poolShards(bodies, 123);
    expect(shards).toHaveLength(HOT_POOL.shards);
    expect(shards.reduce((n, s) => n + Object.keys(s.videos).length, 0)).toBe(6000);
    for (const s of shards) expect(Object.keys(s.videos).length).toBeGreaterThan(6000 / HOT_POOL.shards / 2);
    expect(shards[shardOf("v77")].videos.v77).toBe('{"video_id":"v77"}');
    expect(shards.every((s) => s.generated_at === 123)).toBe(true);
  });
});

describe("feed bodies on the hit path", () => {
  it("serialises exactly like JSON.stringify after the edge's changes, without touching the cached page", () => {
    const p = { status: 200, body: JSON.stringify(page(["v1", "v2"], "c1")), headers: {} };
    const a = parseFeedPayload(p);
    a.source = "edge-cache";
    a.degradation_level = 4;
    a.limited = true;
    expect(feedJson(a)).toBe(JSON.stringify(a));
    // The cached page is unchanged: the next hit starts from the origin's values again.
    const b = parseFeedPayload(p);
    expect(b).toMatchObject({ source: "origin", degradation_level: 0, limited: false });
    expect(b.items).toBe(a.items); // parsed once per payload
    expect(feedJson(b)).toBe(p.body);
    // A feed not from a cached payload (a fallback) is plain JSON.stringify.
    const other = page(["v9"], null);
    expect(feedJson(other)).toBe(JSON.stringify(other));
  });
});
