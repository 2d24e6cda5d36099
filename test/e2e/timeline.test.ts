import { describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { REGIONS } from "../../shared/local-ports.ts";
import { waitFor, withRegionDb } from "./support/pg.ts";

// Timelines end to end: events posted at the edge reach the per-video timeline of the user's home region
// (once, also when the batch is sent twice), and regional trending is computed from that timeline.
const stack = inject("stack");
const keyBase = `tl-${Date.now()}`;

const timelineRows = (region: (typeof REGIONS)[number], ids: string[]) =>
  withRegionDb(stack.pgPort, region, async (c) =>
    (await c.query<{ event_id: string; type: string; video_id: string; region: string }>(
      "SELECT event_id, type, video_id::text, region FROM timeline_events WHERE event_id = ANY($1) ORDER BY ts", [ids])).rows);

describe("timelines end to end", () => {
  it("events land in the home region's timeline exactly once and lift the video into that region's trending", async () => {
    const { user, video } = await withRegionDb(stack.pgPort, "eu", async (c) => ({
      user: String((await c.query("SELECT user_id FROM users ORDER BY user_id LIMIT 1 OFFSET 7")).rows[0].user_id),
      // The least popular eu upload: nowhere near the static popularity order.
      video: String((await c.query("SELECT video_id FROM videos WHERE upload_region = 'eu' AND status = 'active' ORDER BY views, video_id LIMIT 1")).rows[0].video_id),
    }));
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, `u${user}`, "eu");
    const now = Date.now();
    const events = [
      ...[0, 1, 2].map((i) => ({ type: "view", video_id: `v${video}`, watch_ms: 5000, ts: new Date(now - 60_000 + i).toISOString(), idempotency_key: `${keyBase}-v${i}` })),
      { type: "like", video_id: `v${video}`, ts: new Date(now - 30_000).toISOString(), idempotency_key: `${keyBase}-like` },
      { type: "follow", author_id: "u1", ts: new Date(now).toISOString(), idempotency_key: `${keyBase}-follow` }, // no video: no timeline
    ];
    for (let round = 0; round < 2; round++) {
      const res = await fetch(`${stack.edgeUrl}/v1/events`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ events }) });
      expect(res.status).toBe(202);
    }
    const ids = events.map((e) => `${user}:${e.idempotency_key}`);
    const rows = await waitFor(async () => { const r = await timelineRows("eu", ids); return r.length === 4 && r; }, 30_000, "timeline rows in eu");
    expect(rows.map((r) => [r.type, r.video_id, r.region])).toEqual([["view", video, "eu"], ["view", video, "eu"], ["view", video, "eu"], ["like", video, "eu"]]);
    await new Promise((r) => setTimeout(r, 1500)); // give the duplicate batch time to (not) add rows
    expect(await timelineRows("eu", ids)).toHaveLength(4);
    for (const r of REGIONS.filter((r) => r !== "eu")) expect(await timelineRows(r, ids)).toHaveLength(0);

    // A list size no one asked for yet, so neither the isolate memo nor Redis holds it: computed now.
    const res = await fetch(`${stack.originUrl.eu}/internal/v1/trending?count=437`, { headers: { "x-internal-secret": stack.secrets.INTERNAL_SECRET } });
    expect(res.status).toBe(200);
    const trending = ((await res.json()) as { items: { video_id: string }[] }).items.map((i) => i.video_id);
    expect(trending).toContain(`v${video}`);
  }, 60_000);
});
