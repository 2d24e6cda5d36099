import { inject, describe, expect, it } from "vitest";
import pg from "pg";
import { mintSessionToken } from "../../shared/auth.ts";
import { FeedResponseSchema } from "../../shared/contract.ts";
import { LOCAL_PG, regionDatabase, type Region } from "../../shared/local-ports.ts";

// The foundation's promise: one real feed request travels edge → origin → Postgres + Redis → ranking.
const stack = inject("stack");

async function someUser(region: Region): Promise<string> {
  const c = new pg.Client({ host: "127.0.0.1", port: stack.pgPort, database: regionDatabase(region), ...LOCAL_PG });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT u.user_id FROM users u WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = u.user_id) ORDER BY u.user_id LIMIT 1`,
    );
    return `u${r.rows[0].user_id}`;
  } finally {
    await c.end();
  }
}

describe("feed end to end", () => {
  it("anonymous request gets the trending feed", async () => {
    const res = await fetch(`${stack.edgeUrl}/v1/feed?count=5&region=us`);
    expect(res.status).toBe(200);
    const body = FeedResponseSchema.parse(await res.json());
    expect(["trending", "edge-cache", "stale"]).toContain(body.source); // an earlier test may have warmed the key
    expect(body.items.length).toBe(5);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("x-region")).toBe("us");
  });

  it("a user's token gets a personalized page ranked by the ONNX model, with paging that never repeats", async () => {
    const user = await someUser("eu");
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, user, "eu");
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let page = 0; page < 4; page++) {
      const url = `${stack.edgeUrl}/v1/feed?count=20&region=eu${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const body = FeedResponseSchema.parse(await res.json());
      expect(["origin", "edge-cache", "stale"]).toContain(body.source);
      expect(body.region).toBe("eu");
      expect(body.model_version).toMatch(/.+/);
      expect(body.items).toHaveLength(20);
      const scores = body.items.map((i) => i.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      for (const it of body.items) {
        expect(seen.has(it.video_id)).toBe(false);
        seen.add(it.video_id);
      }
      // The first page ranks; later pages are slices of the stored chain.
      if (page === 0) expect(res.headers.get("server-timing")).toMatch(/rank;dur=/);
      cursor = body.next_cursor;
      expect(cursor).toBeTruthy();
    }
    expect(seen.size).toBe(80);
  });

  it("a bad token is a 401 with the error shape; a bad count a 400 naming the field", async () => {
    const r1 = await fetch(`${stack.edgeUrl}/v1/feed`, { headers: { authorization: "Bearer a.b.c" } });
    expect(r1.status).toBe(401);
    expect((await r1.json()).error.code).toBe("unauthorized");
    const r2 = await fetch(`${stack.edgeUrl}/v1/feed?count=500`);
    expect(r2.status).toBe(400);
    expect((await r2.json()).error.field).toBe("count");
  });
});
