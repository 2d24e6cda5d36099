import { describe, expect, it } from "vitest";
import { FeedResponseSchema } from "../../shared/contract.ts";
import { decodeCursor } from "../../origin/cursor.ts";
import { buildFeed, FEED_AHEAD_MAX, type FeedRequest } from "../../origin/feed/pipeline.ts";
import { memoryContext, memoryWorld, user } from "../support/feed-memory.ts";

// The pages the origin sends ahead for the edge's chain cache (issue 13; edge/chain-cache.ts), over the
// in-memory stores: consecutive slices of the one chain (what walking the cursors serves), only at level 0.
const render = { MEDIA_BASE_URL: "https://media.test" };

describe("feed pipeline: pages ahead", () => {
  it("at level 0 sends the next pages of the same chain, each with the cursor of the page after it", async () => {
    const w = memoryWorld();
    w.users.set("42", user("42"));
    const ctx = memoryContext(w, 0);
    const win = await buildFeed(ctx, { userId: "42", count: 10, ahead: 9 }, render);
    expect(win.ahead).toHaveLength(9);
    const pages = [win, ...win.ahead!].map((p) => FeedResponseSchema.parse({ ...p, ahead: undefined }));
    // Walking the cursors one page at a time serves exactly these pages.
    for (let k = 1; k < pages.length; k++) {
      const pos = await decodeCursor(ctx.cursorSecret, pages[k - 1].next_cursor!, "42");
      expect(pos.offset).toBe(10 * k);
      const walked = await buildFeed(ctx, { userId: "42", count: 10, position: pos }, render);
      expect(walked.items.map((i) => i.video_id)).toEqual(pages[k].items.map((i) => i.video_id));
      expect(walked.next_cursor).toBe(pages[k].next_cursor);
    }
    const ids = pages.flatMap((p) => p.items.map((i) => i.video_id));
    expect(new Set(ids).size).toBe(100);
    expect(pages.every((p) => p.degradation_level === 0 && p.limited === false && p.model_version === "mem-1")).toBe(true);
  });

  it("stops at the chain's end (the last page has no cursor) and never sends more than FEED_AHEAD_MAX", async () => {
    const w = memoryWorld(40);
    w.users.set("42", user("42"));
    const win = await buildFeed(memoryContext(w, 0), { userId: "42", count: 10, ahead: 50 }, render);
    const pages = [win, ...(win.ahead ?? [])];
    expect(pages.length).toBeLessThanOrEqual(1 + FEED_AHEAD_MAX);
    expect(pages.at(-1)!.next_cursor).toBeNull();
    expect(pages.slice(0, -1).every((p) => p.next_cursor)).toBe(true);
  });

  it("a fallback chain at level 0 (ranking failed for this request) is windowed like any stored chain", async () => {
    const w = memoryWorld();
    w.users.set("42", user("42"));
    w.down.ranking = true;
    const win = await buildFeed(memoryContext(w, 0), { userId: "42", count: 10, ahead: 3 }, render);
    expect(win.source).not.toBe("origin");
    expect(win.ahead).toHaveLength(3);
    const ids = [win, ...win.ahead!].flatMap((p) => p.items.map((i) => i.video_id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(win.ahead!.every((p) => p.source === win.source && p.degradation_level === 0)).toBe(true);
  });

  it("sends pages ahead at levels 1 and 3 (chains in Redis; each labelled with its level, limited at 3), none at level 2", async () => {
    for (const level of [1, 2, 3] as const) {
      const w = memoryWorld();
      w.users.set("42", user("42"));
      w.chains.set("c0", { u: "42", mv: "mem-0", src: "origin", at: Date.UTC(2025, 0, 15, 12) - 1000, items: [...w.videos.keys()].slice(0, 60).map((id) => [id, 0.5, "trending"]) });
      w.lastChain.set("42", "c0");
      const req: FeedRequest = { userId: "42", count: 10, ahead: 9 };
      const win = await buildFeed(memoryContext(w, level), req, render);
      expect(win.degradation_level).toBe(level);
      if (level === 2) expect(win.ahead, "level 2 keeps no chains in Redis").toBeUndefined();
      else {
        expect(win.ahead?.map((p) => [p.degradation_level, p.limited])).toEqual(Array(5).fill([level, level === 3])); // 60 items: 6 pages
        const ids = [win, ...win.ahead!].flatMap((p) => p.items.map((i) => i.video_id));
        expect(new Set(ids).size).toBe(60);
      }
    }
  });
});
