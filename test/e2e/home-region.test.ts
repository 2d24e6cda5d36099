import { inject, describe, expect, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { FeedResponseSchema } from "../../shared/contract.ts";
import { LOCAL_UPSTASH_TOKEN } from "../../shared/local-ports.ts";
import { residentUser, waitFor } from "./support/pg.ts";
import { waitForFullWeight } from "./support/region-status.ts";
import { expectErrorShape } from "../support/error-shape.ts";

// Issue 11 §2/§3 against the whole stack: a signed-in user's personal reads go to their home region
// wherever the request lands (no override here: the local geo default is us); with the home region out
// of rotation they get a healthy region's non-personal feed, marked limited; the origin's per-user 429
// reaches the client with retry-after and a field the client sent; bad cursors cost no budget.
const stack = inject("stack");
const admin = { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}` };
const feed = (token: string, q = "count=5") => fetch(`${stack.edgeUrl}/v1/feed?${q}`, { headers: { authorization: `Bearer ${token}` } });

async function upstash(region: "us" | "eu" | "apac", cmd: (string | number)[]): Promise<unknown> {
  const r = await fetch(stack.upstashUrl[region], { method: "POST", headers: { authorization: `Bearer ${LOCAL_UPSTASH_TOKEN}` }, body: JSON.stringify(cmd) });
  return ((await r.json()) as { result: unknown }).result;
}

describe("home-region routing", () => {
  it("an eu user without a region override is served personally by eu, not trending from us", async () => {
    const u = await residentUser(stack.pgPort, "eu", 3);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, u, "eu");
    const res = await feed(token);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-region")).toBe("eu");
    expect(FeedResponseSchema.parse(await res.json()).region).toBe("eu");
    // Personal: a ranked feed once the region is at level 0 (a just-started, loaded stack may answer the
    // first reads from a fallback; each count is a fresh edge-cache key).
    let count = 5;
    const body = await waitFor(async () => {
      const b = FeedResponseSchema.parse(await (await feed(token, `count=${++count}`)).json());
      return b.region === "eu" && b.degradation_level === 0 && b.source !== "trending" ? b : null;
    }, 30_000, "a personal eu feed");
    expect(body.items.some((i) => i.reason !== "trending")).toBe(true);
    // A region override does not move personal reads out of the home region either.
    const pinned = await feed(token, "count=5&region=apac");
    expect(pinned.headers.get("x-region")).toBe("eu");
    await pinned.arrayBuffer();
  });

  it("with the home region drained, the user gets a healthy region's non-personal feed, marked limited at level 4", async () => {
    const u = await residentUser(stack.pgPort, "eu", 4);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, u, "eu");
    const first = FeedResponseSchema.parse(await (await feed(token)).json());
    expect(first.next_cursor).toBeTruthy();
    expect((await fetch(`${stack.edgeUrl}/v1/admin/regions/eu/drain`, { method: "POST", headers: admin })).status).toBe(200);
    try {
      const body = await waitFor(async () => {
        const r = await feed(token, "count=5&region=us");
        const b = FeedResponseSchema.parse(await r.json());
        return b.region !== "eu" ? b : null;
      }, 15_000, "eu out of rotation");
      expect(body.region).toBe("us"); // the reader's geo region (override us) comes first among the healthy ones
      expect(body.degradation_level).toBeGreaterThanOrEqual(4);
      expect(body.limited).toBe(true);
      expect(body.items.every((i) => i.reason === "trending" || i.reason === "cached" || i.reason === "explore")).toBe(true);
      // The user's own (eu-chain) cursor still gets an answer: the healthy region's first page.
      const cont = await feed(token, `count=5&region=us&cursor=${encodeURIComponent(first.next_cursor!)}`);
      expect(cont.status).toBe(200);
      expect(FeedResponseSchema.parse(await cont.json()).limited).toBe(true);
    } finally {
      await fetch(`${stack.edgeUrl}/v1/admin/regions/eu/restore`, { method: "POST", headers: admin });
      await waitForFullWeight(stack.edgeUrl);
    }
  });
});

describe("the origin's per-user limit at the client", () => {
  it("429 carries retry-after and names the token, and an invalid cursor does not count", async () => {
    const u = await residentUser(stack.pgPort, "us", 7);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, u, "us");
    const key = `rl:feed:${u.slice(1)}:${Math.floor(Date.now() / 60_000)}`;
    // Bad cursors are refused (400) and leave the counter alone.
    for (let i = 0; i < 5; i++) {
      const r = await feed(token, `count=3&region=us&cursor=bogus${i}.xyz`);
      expect(r.status).toBe(400);
      expect((await expectErrorShape(r)).error.field).toBe("cursor");
    }
    expect(await upstash("us", ["GET", key])).toBeNull();
    // Spend the minute's budget (300) the way 300 real reads would, then one more read through the edge.
    await upstash("us", ["SET", key, 300, "EX", 120]);
    const r = await feed(token, "count=7&region=us");
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = await expectErrorShape(r);
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.field).toBe("authorization");
    await upstash("us", ["DEL", key]);
  });
});
