import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintSessionToken, sessionFromHeader } from "../../shared/auth.ts";
import { ApiClient } from "../../shared/client/api-client.ts";
import { FeedController } from "../../shared/client/feed-controller.ts";
import { MemoryFeedItemStore } from "../../shared/client/feed-store.ts";
import { ApiError } from "../../shared/errors.ts";
import type { FeedResponse } from "../../shared/contract.ts";

// The feed page opened with a token the edge refuses (`/#token=garbage.token.x`, an expired one): the page
// used to drop an unreadable token silently (anonymous feed, no word why) and to stop on "Could not load
// the feed (401 …)" for a readable one. Now the token is sent, the edge's 401 message becomes the state's
// notice and the feed continues anonymously. The server checks tokens with the edge's own sessionFromHeader.
const SECRET = "test-session-secret-0123456789abcdef";
const seen: (string | null)[] = [];
let server: ReturnType<typeof createServer>;
let baseUrl: string;

const page = (who: string): FeedResponse => ({
  items: [{ video_id: `v-${who}`, author_id: "u1", caption: who, duration_ms: 15000, video_url: "x", thumbnail_url: "y", stats: { views: 1, likes: 0 }, score: 1, reason: "trending" }],
  next_cursor: null, source: "origin", region: "us", degradation_level: 0, limited: false, model_version: "m1", generated_at: new Date().toISOString(),
});

beforeAll(async () => {
  server = createServer(async (req, res) => {
    seen.push(req.headers.authorization ?? null);
    try {
      const s = await sessionFromHeader(req.headers.authorization, SECRET);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(page(s ? s.userId : "anon")));
    } catch (e) {
      const err = e as ApiError;
      res.writeHead(err.status, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: err.code, message: err.message, field: err.field } }));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A page's wiring: a token that the onUnauthorized hook drops, as web/feed-page.ts does. */
function pageWith(token: string | null, scope: string, hook = true) {
  let current = token;
  const drops: number[] = [];
  const store = new MemoryFeedItemStore();
  const api = new ApiClient({ baseUrl, token: () => current, feedRetry: { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: 2000 } });
  const onUnauthorized = hook
    ? () => {
        drops.push(1);
        if (!current) return false;
        current = null;
        return true;
      }
    : undefined;
  return { feed: new FeedController({ api, store, scope, onUnauthorized }), store, drops };
}

describe("a session token the edge refuses", () => {
  it("garbage.token.x: the 401's message is shown, then the anonymous feed", async () => {
    seen.length = 0;
    const { feed, store } = pageWith("garbage.token.x", "anon");
    await feed.start();
    expect(feed.state.notice).toBe("the sign-in token was refused: invalid token");
    expect(feed.state.phase).toBe("end");
    expect(feed.state.items.map((i) => i.item.video_id)).toEqual(["v-anon"]);
    expect(seen).toEqual(["Bearer garbage.token.x", null]); // sent once, then anonymous
    expect((await store.load("anon"))?.items.map((i) => i.video_id)).toEqual(["v-anon"]);
  });

  it("an expired token of a readable user: its reason, and the anonymous page cached under anon, not the user", async () => {
    const expired = await mintSessionToken(SECRET, "u42", "us", -120);
    const { feed, store } = pageWith(expired, "u42");
    await feed.start();
    expect(feed.state.notice).toBe("the sign-in token was refused: token expired");
    expect(feed.state.items.map((i) => i.item.video_id)).toEqual(["v-anon"]);
    expect(await store.load("u42")).toBeNull();
  });

  it("a good token is not touched; without the hook a 401 stays an error; the hook is asked once", async () => {
    const good = pageWith(await mintSessionToken(SECRET, "u7", "us"), "u7");
    await good.feed.start();
    expect(good.feed.state).toMatchObject({ phase: "end", notice: null });
    expect(good.feed.state.items[0].item.video_id).toBe("v-u7");
    expect(good.drops).toEqual([]);

    const bare = pageWith("garbage.token.x", "anon", false);
    await bare.feed.start();
    expect(bare.feed.state).toMatchObject({ phase: "error", notice: null });
    expect(bare.feed.state.error).toContain("401 unauthorized: invalid token");
  });
});
