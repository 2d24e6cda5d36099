import { describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { REGIONS } from "../../shared/local-ports.ts";
import { fault } from "./support/faults.ts";
import { countByKeys, residentUser, waitFor } from "./support/pg.ts";
import { waitForFullWeight } from "./support/region-status.ts";

// Events: 202 only once queued; the queue consumer writes them into the user's home region exactly once.
const stack = inject("stack");
const keyBase = `e2e-${Date.now()}`;

async function post(token: string | null, body: unknown) {
  return fetch(`${stack.edgeUrl}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("events end to end", () => {
  it("lands in the home region exactly once, even when the same batch is sent twice, and nowhere else", async () => {
    const user = await residentUser(stack.pgPort, "eu");
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, user, "eu");
    const keys = Array.from({ length: 10 }, (_, i) => `${keyBase}-a-${i}`);
    const events = keys.map((k, i) => ({ type: i % 2 ? "like" : "view", video_id: `v${i + 1}`, watch_ms: 1000 * i, ts: new Date().toISOString(), idempotency_key: k }));
    for (let round = 0; round < 2; round++) {
      const res = await post(token, { events });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: 10, queued: true });
    }
    await waitFor(async () => (await countByKeys(stack.pgPort, "eu", keys)).size === keys.length, 30_000, "events in eu");
    await new Promise((r) => setTimeout(r, 1500)); // give the duplicate batch time to (not) land
    const eu = await countByKeys(stack.pgPort, "eu", keys);
    expect([...eu.values()].every((n) => n === 1)).toBe(true);
    for (const r of REGIONS.filter((r) => r !== "eu")) expect((await countByKeys(stack.pgPort, r, keys)).size).toBe(0);
  });

  it("requires a token, validates the body, and names the bad field", async () => {
    expect((await post(null, { events: [] })).status).toBe(401);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, await residentUser(stack.pgPort, "us"), "us");
    const r1 = await post(token, "{nope");
    expect(r1.status).toBe(400);
    expect((await r1.json()).error.code).toBe("invalid_json");
    const r2 = await post(token, { events: [{ type: "like", ts: new Date().toISOString(), idempotency_key: "k-12345678" }] });
    expect(r2.status).toBe(400);
    expect((await r2.json()).error.field).toMatch(/video_id/);
  });

  it("the origin refuses to write a user whose home region is not its own (residency guard)", async () => {
    const user = await residentUser(stack.pgPort, "eu");
    const res = await fetch(`${stack.originUrl.us}/internal/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-internal-secret": stack.secrets.INTERNAL_SECRET },
      body: JSON.stringify({ user_id: user, home_region: "us", events: [{ type: "view", video_id: "v1", ts: new Date().toISOString(), idempotency_key: `${keyBase}-guard` }] }),
    });
    expect(res.status).toBe(409);
    expect((await countByKeys(stack.pgPort, "us", [`${keyBase}-guard`])).size).toBe(0);
  });

  it("during an eu outage an eu user's events wait in the queue, then land in eu only (never rerouted to us/apac)", async () => {
    const user = await residentUser(stack.pgPort, "eu", 7);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, user, "eu");
    const keys = Array.from({ length: 6 }, (_, i) => `${keyBase}-outage-${i}`);
    await fault("origin", "stop", "eu");
    try {
      for (const k of keys) {
        const res = await post(token, { events: [{ type: "view", video_id: "v3", watch_ms: 500, ts: new Date().toISOString(), idempotency_key: k }] });
        expect(res.status).toBe(202); // acknowledged: durable in the queue even with the home region down
      }
      await new Promise((r) => setTimeout(r, 4000)); // several delivery attempts fail meanwhile
      for (const r of REGIONS) expect((await countByKeys(stack.pgPort, r, keys)).size, `rows in ${r} during the outage`).toBe(0);
    } finally {
      await fault("origin", "start", "eu");
    }
    await waitFor(async () => (await countByKeys(stack.pgPort, "eu", keys)).size === keys.length, 60_000, "queued eu events delivered after recovery");
    expect([...(await countByKeys(stack.pgPort, "eu", keys)).values()].every((n) => n === 1)).toBe(true);
    for (const r of REGIONS.filter((r) => r !== "eu")) expect((await countByKeys(stack.pgPort, r, keys)).size).toBe(0);
    // Leave routing at full weight for the next test file.
    await waitForFullWeight(stack.edgeUrl);
  }, 120_000);
});
