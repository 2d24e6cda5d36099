import { describe, expect, inject, it } from "vitest";
import { FeedResponseSchema } from "../../shared/contract.ts";
import { engagementProbability } from "../../scripts/seed/interactions.ts";
import { residentUser, withRegionDb } from "./support/pg.ts";

// Does the personalized feed reflect follows and latent interests? The seed's hidden engagement function
// (what generated the training interactions) scores each page: a user's ranked page must promise
// clearly more engagement than the trending page the same user would otherwise get.
const stack = inject("stack");
const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };
const DAY = 86_400_000;

async function page(user: string | null): Promise<string[]> {
  const q = new URLSearchParams({ count: "20" });
  if (user) q.set("user_id", user);
  const r = await fetch(`${stack.originUrl.eu}/internal/v1/feed?${q}`, { headers: secret });
  return FeedResponseSchema.parse(await r.json()).items.map((i) => i.video_id.slice(1));
}

async function expectedEngagement(user: string, ids: string[]): Promise<number> {
  return withRegionDb(stack.pgPort, "eu", async (c) => {
    const u = (await c.query("SELECT embedding FROM users WHERE user_id = $1", [user.slice(1)])).rows[0].embedding as number[];
    const follows = new Set((await c.query("SELECT followee_id FROM follows WHERE follower_id = $1", [user.slice(1)])).rows.map((r) => String(r.followee_id)));
    const vids = (await c.query("SELECT video_id, author_id, embedding, popularity, created_at FROM videos WHERE video_id = ANY($1::bigint[])", [ids])).rows;
    const now = Date.now();
    const ps = vids.map((v) => {
      const emb = v.embedding as number[];
      const affinity = emb.reduce((s, x, i) => s + x * u[i], 0);
      return engagementProbability(affinity, Math.max(1e-9, Number(v.popularity)), follows.has(String(v.author_id)), (now - new Date(v.created_at).getTime()) / DAY);
    });
    return ps.reduce((s, p) => s + p, 0) / (ps.length || 1);
  });
}

describe("personalization quality", () => {
  it("ranked pages promise more engagement than trending under the hidden engagement function", async () => {
    const trending = await page(null);
    let personal = 0;
    let baseline = 0;
    const n = 12;
    for (let i = 0; i < n; i++) {
      const user = await residentUser(stack.pgPort, "eu", 300 + i);
      personal += await expectedEngagement(user, await page(user));
      baseline += await expectedEngagement(user, trending);
    }
    console.log(`mean expected engagement: personalized ${(personal / n).toFixed(3)} vs trending ${(baseline / n).toFixed(3)}`);
    expect(personal / n).toBeGreaterThan((baseline / n) * 1.2);
  });
});
