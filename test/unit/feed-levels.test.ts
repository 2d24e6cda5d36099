import { describe, expect, it } from "vitest";
import { FeedResponseSchema } from "../../shared/contract.ts";
import { levelPolicy } from "../../shared/degradation.ts";
import { ApiError } from "../../shared/errors.ts";
import { decodeCursor } from "../../origin/cursor.ts";
import { RESCUE_POLICY, requestPolicy } from "../../origin/feed/context.ts";
import { buildFeed, type FeedRequest } from "../../origin/feed/pipeline.ts";
import { memoryContext, memoryWorld, NOW, user, type MemoryWorld } from "../support/feed-memory.ts";

// The feed pipeline (origin/feed/) at every level of DESIGN §3, over the in-memory stores of
// test/support/feed-memory.ts: what each level's policy makes it do, and what it leaves untouched.
const render = { MEDIA_BASE_URL: "https://media.test" };
const first = (userId: string | null, count = 10): FeedRequest => ({ userId, count });

function withUser(w: MemoryWorld, id = "42", over = {}) {
  w.users.set(id, user(id, over));
  return id;
}

/** A ranked chain for `id` stored an `ageMs` ago as the user's latest (cached recommendations). */
function cacheRecommendations(w: MemoryWorld, id: string, ageMs: number) {
  w.chains.set("old", { u: id, mv: "mem-0", src: "origin", at: NOW - ageMs, items: [["7", 0.9, "similar"], ["8", 0.8, "trending"]] });
  w.lastChain.set(id, "old");
}

async function pages(w: MemoryWorld, level: 0 | 1 | 2 | 3, userId: string, n: number, count: number) {
  const ctx = memoryContext(w, level);
  const seen: string[] = [];
  let req: FeedRequest = first(userId, count);
  for (let i = 0; i < n; i++) {
    const page = await buildFeed(ctx, req, render);
    seen.push(...page.items.map((it) => it.video_id));
    if (!page.next_cursor) break;
    req = { userId, count, position: await decodeCursor(ctx.cursorSecret, page.next_cursor, userId) };
  }
  return seen;
}

describe("feed pipeline: level 0 (normal)", () => {
  it("ranks a 5K pool in the seed's mix with full features; stores the chain; not limited", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    const f = FeedResponseSchema.parse(await buildFeed(memoryContext(w, 0), first(id), render));
    expect(f).toMatchObject({ source: "origin", degradation_level: 0, limited: false, model_version: "mem-1" });
    expect(f.items).toHaveLength(10);
    expect(w.plans[0]).toMatchObject({ pool: 5000, mix: levelPolicy(0).mix, contentBased: false });
    expect(w.calls.ranking).toBe(1);
    expect(w.lastChain.get(id)).toBeDefined(); // stored: the next hour's cached recommendations
  });

  it("cursor pages are slices of the stored chain: no video twice", async () => {
    const w = memoryWorld();
    const seen = await pages(w, 0, withUser(w), 5, 20);
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
    expect(w.calls.ranking).toBe(1);
  });
});

describe("feed pipeline: level 1 (ML degraded)", () => {
  it("serves cached recommendations ≤ 1 h old without ranking", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    cacheRecommendations(w, id, 59 * 60_000);
    const f = await buildFeed(memoryContext(w, 1), first(id), render);
    expect(f).toMatchObject({ source: "cached", degradation_level: 1, limited: false });
    expect(f.items.map((i) => i.reason)).toEqual(["cached", "cached"]);
    expect(w.calls.ranking).toBe(0);
  });

  it("older than 1 h: ranks a 1K pool instead", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    cacheRecommendations(w, id, 61 * 60_000);
    const f = await buildFeed(memoryContext(w, 1), first(id), render);
    expect(f.source).toBe("origin");
    expect(w.plans[0].pool).toBe(1000);
    expect(w.rankInputs[0].ids.length).toBeLessThanOrEqual(1000);
  });

  it("a half-open breaker gets its trial call: ranks although recommendations are cached", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    cacheRecommendations(w, id, 60_000);
    w.halfOpen = true;
    expect((await buildFeed(memoryContext(w, 1), first(id), render)).source).toBe("origin");
    expect(w.calls.ranking).toBe(1);
  });
});

describe("feed pipeline: ranking unavailable → cached → trending → following", () => {
  it("cached recommendations first", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    cacheRecommendations(w, id, 10 * 60_000);
    w.down.ranking = true;
    const warnings: string[] = [];
    const f = await buildFeed(memoryContext(w, 0, { warnings }), first(id), render);
    expect(f.source).toBe("cached");
    expect(warnings[0]).toMatch(/ranking unavailable/);
  });

  it("then trending, without the user's recent videos", async () => {
    const w = memoryWorld();
    const id = withUser(w, "42", { recent: ["1", "2"] });
    w.down.ranking = true;
    const f = await buildFeed(memoryContext(w, 0), first(id), render);
    expect(f.source).toBe("trending");
    expect(f.items.map((i) => i.video_id)).not.toContain("v1");
    expect(f.items[0].video_id).toBe("v3");
  });

  it("then recent videos of followed authors", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    w.down.ranking = true;
    w.trending = [];
    const f = await buildFeed(memoryContext(w, 0), first(id), render);
    expect(f.source).toBe("following");
    expect(f.items.every((i) => ["u1001", "u1002"].includes(i.author_id))).toBe(true);
  });

  it("trending failing with a database error (the rest of Postgres up): recent videos of followed authors", async () => {
    const w = memoryWorld();
    const id = withUser(w, "42", { recent: ["1"] }); // video 1 is by author 1001, whom the user follows
    w.down.ranking = true;
    w.failing.add("catalog.trending");
    const f = FeedResponseSchema.parse(await buildFeed(memoryContext(w, 0), first(id), render));
    expect(f).toMatchObject({ source: "following", degradation_level: 0, limited: false });
    expect(f.items.length).toBeGreaterThan(0);
    expect(f.items.every((i) => ["u1001", "u1002"].includes(i.author_id))).toBe(true);
    expect(f.items[0].video_id).toBe("v2"); // newest first, the user's recent video 1 left out
    // Ranking was tried and failed, then trending; nothing was answered from the level-3 rescue path.
    expect(w.calls.ranking).toBeGreaterThan(0);
  });

  it("trending and following both failing: answered from cache as level 3, never a 500", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    w.down.ranking = true;
    w.failing.add("catalog.trending").add("catalog.following");
    const f = await buildFeed(memoryContext(w, 0), first(id), render);
    expect(f).toMatchObject({ source: "trending", degradation_level: 3, limited: true });
  });
});

describe("feed pipeline: level 2 (feature store unavailable)", () => {
  it("content-based 1K pool with more trending and explore; the user embedding is the feature mode's (cold start)", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    const coldStart = new Float32Array(16).fill(0.5);
    const f = await buildFeed(memoryContext(w, 2, { featureUser: (u) => ({ ...u, emb: coldStart }) }), first(id), render);
    expect(f).toMatchObject({ degradation_level: 2, limited: false, source: "origin" });
    const plan = w.plans[0];
    expect(plan).toMatchObject({ pool: 1000, contentBased: true });
    expect(plan.mix.trending).toBeGreaterThan(levelPolicy(0).mix.trending);
    expect(plan.mix.explore).toBeGreaterThan(levelPolicy(0).mix.explore);
    expect(w.rankInputs[0].userEmb).toBe(coldStart);
  });

  it("keeps off Redis, and a cursor page recomputes the same chain (explore seeded by the chain id): no video twice", async () => {
    const w = memoryWorld(3000);
    const seen = await pages(w, 2, withUser(w), 4, 25);
    expect(w.calls.redis).toBe(0);
    expect(w.chains.size).toBe(0);
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
    const seeds = new Set(w.plans.map((p) => p.exploreSeed));
    expect(seeds.size).toBe(1);
  });
});

describe("feed pipeline: level 3 (database degraded)", () => {
  it("cache only: cached recommendations, limited, no Postgres and no ranking", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    cacheRecommendations(w, id, 30 * 60_000);
    const f = await buildFeed(memoryContext(w, 3), first(id), render);
    expect(f).toMatchObject({ source: "cached", degradation_level: 3, limited: true });
    expect(w.calls.postgres).toBe(0);
    expect(w.calls.ranking).toBe(0);
  });

  it("without cached recommendations: the cached trending copy; video features from Redis only", async () => {
    const w = memoryWorld();
    w.cachedVideos.delete("2"); // not cached: left out rather than read from Postgres
    const f = await buildFeed(memoryContext(w, 3), first(withUser(w)), render);
    expect(f).toMatchObject({ source: "trending", limited: true });
    expect(f.items.map((i) => i.video_id)).toEqual(["v1", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10"]);
    expect(w.calls.postgres).toBe(0);
  });

  it("nothing cached: 503 (the edge answers from its own caches), never a 500", async () => {
    const w = memoryWorld();
    w.cachedTrending = null;
    const err = await buildFeed(memoryContext(w, 3), first(null), render).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(503);
  });
});

describe("feed pipeline: requests that cannot be served at their level", () => {
  it("a database failure mid-request is answered from cache, as level 3", async () => {
    const w = memoryWorld();
    const id = withUser(w);
    cacheRecommendations(w, id, 5 * 60_000);
    w.down.postgres = true;
    const f = await buildFeed(memoryContext(w, 0), first(id), render);
    expect(f).toMatchObject({ source: "cached", degradation_level: 3, limited: true });
  });

  it("a shed request runs cache-only whatever the signals say; otherwise the signals' level", () => {
    expect(requestPolicy({ level: 0 }, true)).toBe(RESCUE_POLICY);
    expect(RESCUE_POLICY).toMatchObject({ cacheOnly: true, limited: true });
    expect(requestPolicy({ level: 2 }, false)).toBe(levelPolicy(2));
  });

  it("anonymous readers share one chain per time bucket (Redis), trending from the catalogue", async () => {
    const w = memoryWorld();
    const a = await buildFeed(memoryContext(w, 0), first(null, 5), render);
    expect(a).toMatchObject({ source: "trending", degradation_level: 0 });
    const pg = w.calls.postgres;
    await buildFeed(memoryContext(w, 0), first(null, 5), render);
    expect(w.calls.postgres).toBe(pg + 1); // only the page's features: the chain came from Redis
  });
});
