import { describe, expect, it } from "vitest";
import { buildFeed } from "../../origin/feed/pipeline.ts";
import type { LevelPolicy } from "../../shared/degradation.ts";
import { memoryContext, memoryWorld, user } from "../support/feed-memory.ts";

// Feed items' stats come from the live counts (origin/live-stats.ts; issue 14 item 3), not from the
// features' cached counts, at every level that renders items — and the pipeline says which sources the
// level allows (no Postgres when cache-only, no Redis at level 2). In-memory stores; the live counts
// themselves (Postgres row + unflushed Redis increments) are tested on the real stack in
// test/e2e/multi-region.test.ts.
const render = { MEDIA_BASE_URL: "https://media.test" };

describe("feed items: live counts in stats", () => {
  for (const level of [0, 2, 3] as const) {
    it(`level ${level}: items show the live counts; the policy decides the sources`, async () => {
      const w = memoryWorld();
      w.users.set("42", user("42"));
      for (const [id, v] of w.videos) w.cachedVideos.set(id, v); // level 3 renders from Redis
      const ctx = memoryContext(w, level);
      const asked: Pick<LevelPolicy, "cacheOnly" | "useRedis">[] = [];
      ctx.stores.features.liveCounts = async (_ids, policy) => {
        asked.push({ cacheOnly: policy.cacheOnly, useRedis: policy.useRedis });
        return (_id, cached) => ({ views: cached.views + 100, likes: cached.likes + 2 });
      };
      if (level === 3) w.chains.set("anon-us-0", { items: [...w.videos.keys()].slice(0, 50).map((id) => [id, 1, "trending"]), src: "trending", mv: null, at: 0 } as never);
      const page = await buildFeed(ctx, { userId: level === 3 ? null : "42", count: 10 }, render);
      expect(page.items.length).toBeGreaterThan(0);
      for (const it of page.items) {
        const v = w.videos.get(it.video_id.slice(1))!;
        expect(it.stats).toEqual({ views: v.views + 100, likes: v.likes + 2 });
      }
      expect(asked).toEqual([{ cacheOnly: level === 3, useRedis: level !== 2 }]);
      // The cached features themselves are untouched.
      for (const it of page.items) expect(w.videos.get(it.video_id.slice(1))!.likes).toBe(10);
    });
  }
});
