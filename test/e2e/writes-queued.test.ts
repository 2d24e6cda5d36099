import { afterAll, describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { FORCED_LEVEL_HEADER } from "../../shared/forced-level-header.ts";
import { counter } from "./support/metrics.ts";
import { countByKeys, residentUser, waitFor } from "./support/pg.ts";

// Level 3 "writes queued" (issue 12 item 3, DESIGN §3): while a region is at level 3 (database degraded
// but up) its origin refuses writes with a retryable 503 and nothing is written; the edge's queue keeps
// the events (202 to the client) and delivers them after recovery, each exactly once.
const stack = inject("stack");
const admin = { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}`, "content-type": "application/json" };
const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET, "content-type": "application/json" };

async function force(region: "eu", level: 3 | null) {
  const res = await fetch(`${stack.edgeUrl}/v1/admin/degradation`, { method: "POST", headers: admin, body: JSON.stringify({ region, level }) });
  expect(res.status).toBe(200);
}
const eventsTried = () => counter(`${stack.originUrl.eu}/metrics`, "fyp_origin_requests_total", { route: "events" });

afterAll(async () => {
  await fetch(`${stack.edgeUrl}/v1/admin/degradation`, { method: "POST", headers: admin, body: JSON.stringify({ region: "eu", level: null }) }).catch(() => {});
});

describe("level 3: writes queued", () => {
  it("the origin refuses a write at level 3 with a retryable 503 and retry-after, before touching the database", async () => {
    const user = await residentUser(stack.pgPort, "eu", 7);
    const key = `wq-direct-${Date.now()}`;
    const res = await fetch(`${stack.originUrl.eu}/internal/v1/events`, {
      method: "POST",
      headers: { ...secret, [FORCED_LEVEL_HEADER]: "3" },
      body: JSON.stringify({ user_id: user, home_region: "eu", events: [{ type: "view", video_id: "v3", watch_ms: 100, ts: new Date().toISOString(), idempotency_key: key }] }),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await res.json()).error.code).toBe("writes_queued");
    expect((await countByKeys(stack.pgPort, "eu", [key])).size).toBe(0);
  });

  it("forced level 3: events are accepted (202), none written while forced, and after release they land exactly once", async () => {
    const user = await residentUser(stack.pgPort, "eu", 8);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, user, "eu");
    const keys = Array.from({ length: 6 }, (_, i) => `wq-${Date.now()}-${i}`);
    await force("eu", 3);
    try {
      const before = await eventsTried();
      const res = await fetch(`${stack.edgeUrl}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ events: keys.map((k, i) => ({ type: i % 2 ? "like" : "view", video_id: `v${i + 20}`, watch_ms: 900, ts: new Date().toISOString(), idempotency_key: k })) }),
      });
      expect(res.status).toBe(202);
      // The queue has delivered the batch to the eu origin at least twice (first try and one retry)…
      await waitFor(async () => (await eventsTried()) >= before + 2, 30_000, "two delivery attempts at the eu origin");
      // …and the origin wrote none of it.
      expect((await countByKeys(stack.pgPort, "eu", keys)).size).toBe(0);
    } finally {
      await force("eu", null);
    }
    await waitFor(async () => (await countByKeys(stack.pgPort, "eu", keys)).size === keys.length, 40_000, "queued events written after release");
    expect([...(await countByKeys(stack.pgPort, "eu", keys)).values()]).toEqual(keys.map(() => 1));
  });
});
