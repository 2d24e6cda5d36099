import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { expectErrorShape } from "../support/error-shape.ts";
import { residentUser, waitFor, withRegionDb } from "./support/pg.ts";

// Issue 11 §4: nothing acknowledged is ever lost. Values Postgres cannot store are refused up front
// (400 naming the field); idempotency keys are per user; a message the database refuses for good is
// parked with its reason (not retried ~100 times), shown in /v1/status, and replayed by `npm run dlq`.
const stack = inject("stack");
const base = `df-${Date.now()}`;
const post = (token: string, events: unknown[]) =>
  fetch(`${stack.edgeUrl}/v1/events`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ events }) });
const rowsFor = (region: "us" | "eu" | "apac", user: string, keys: string[]) =>
  withRegionDb(stack.pgPort, region, async (c) => (await c.query(`SELECT idempotency_key FROM interactions WHERE user_id = $1 AND idempotency_key = ANY($2)`, [user.slice(1), keys])).rowCount ?? 0);

describe("event data faults", () => {
  it("times the database cannot store (or that are nonsense) are a 400 naming events.N.ts", async () => {
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, await residentUser(stack.pgPort, "us", 11), "us");
    const ok = { type: "view", video_id: "v1", ts: new Date().toISOString(), idempotency_key: `${base}-ok` };
    for (const ts of ["0000-01-01T00:00:00Z", "2026-02-30T10:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z", "+275760-09-13T00:00:00Z"]) {
      const r = await post(token, [ok, { ...ok, ts, idempotency_key: `${base}-bad` }]);
      expect(r.status, ts).toBe(400);
      expect((await expectErrorShape(r)).error.field, ts).toBe("events.1.ts");
    }
  });

  it("two users of one region may use the same idempotency key; each is written once, re-sends still deduplicated", async () => {
    const [a, b] = await Promise.all([residentUser(stack.pgPort, "us", 12), residentUser(stack.pgPort, "us", 13)]);
    const key = `${base}-shared-key`;
    const ev = { type: "like", video_id: "v7", ts: new Date().toISOString(), idempotency_key: key };
    for (const u of [a, b, a, b]) expect((await post(await mintSessionToken(stack.secrets.SESSION_SECRET, u, "us"), [ev])).status).toBe(202);
    await waitFor(async () => (await rowsFor("us", a, [key])) === 1 && (await rowsFor("us", b, [key])) === 1, 30_000, "both users' events");
    await new Promise((r) => setTimeout(r, 1500)); // the re-sent batches must not add rows
    expect(await rowsFor("us", a, [key])).toBe(1);
    expect(await rowsFor("us", b, [key])).toBe(1);
  });

  it("a batch the database refuses is dead-lettered with its reason at once, and `npm run dlq -- --replay` lands it after the fix", async () => {
    const user = await residentUser(stack.pgPort, "eu", 14);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, user, "eu");
    const keys = [`${base}-dl-1`, `${base}-dl-2`];
    // A rule the data breaks (SQLSTATE 23514, a permanent refusal) stands in for any such bug.
    await withRegionDb(stack.pgPort, "eu", (c) => c.query(`ALTER TABLE interactions ADD CONSTRAINT e2e_no_skip CHECK (type <> 'skip') NOT VALID`));
    let parkedId = "";
    try {
      const r = await post(token, keys.map((k) => ({ type: "skip", video_id: "v3", ts: new Date().toISOString(), idempotency_key: k })));
      expect(r.status).toBe(202);
      const status = await waitFor(async () => {
        const s = (await (await fetch(`${stack.edgeUrl}/v1/status`)).json()) as { dead_letters: { count: number; recent: { id: string; reason: string; attempts: number }[] } };
        return s.dead_letters.recent.find((l) => l.reason.includes("e2e_no_skip")) ?? null;
      }, 20_000, "the refused batch in /v1/status dead letters");
      expect(status.reason).toMatch(/422/);
      expect(status.attempts).toBe(1); // parked on the first refusal, not retried
      parkedId = status.id;
    } finally {
      await withRegionDb(stack.pgPort, "eu", (c) => c.query(`ALTER TABLE interactions DROP CONSTRAINT IF EXISTS e2e_no_skip`));
    }
    expect(await rowsFor("eu", user, keys)).toBe(0);
    const env = { ...process.env, FYP_EDGE_URL: stack.edgeUrl, ADMIN_TOKEN: stack.secrets.ADMIN_TOKEN };
    const listed = await promisify(execFile)(process.execPath, ["scripts/dlq.ts", "--list"], { env });
    expect(listed.stdout).toContain(parkedId);
    const replayed = await promisify(execFile)(process.execPath, ["scripts/dlq.ts", "--replay", "--id", parkedId], { env });
    expect(JSON.parse(replayed.stdout)).toMatchObject({ replayed: 1, failed: [] });
    await waitFor(async () => (await rowsFor("eu", user, keys)) === 2, 30_000, "replayed events in eu");
    for (const r of ["us", "apac"] as const) expect(await rowsFor(r, user, keys)).toBe(0);
  });

  it("an event for a video that does not exist is acknowledged (202), then dead-lettered as unknown_video: never written or counted", async () => {
    const user = await residentUser(stack.pgPort, "us", 15);
    const key = `${base}-unknown-video`;
    const r = await post(await mintSessionToken(stack.secrets.SESSION_SECRET, user, "us"), [{ type: "like", video_id: "v888888888888888", ts: new Date().toISOString(), idempotency_key: key }]);
    expect(r.status).toBe(202);
    const parked = await waitFor(async () => {
      const s = (await (await fetch(`${stack.edgeUrl}/v1/status`)).json()) as { dead_letters: { recent: { reason: string; attempts: number }[] } };
      return s.dead_letters.recent.find((l) => l.reason.includes("v888888888888888")) ?? null;
    }, 20_000, "the unknown video's batch in /v1/status dead letters");
    expect(parked.reason).toMatch(/422.*unknown_video/);
    expect(parked.attempts).toBe(1);
    expect(await rowsFor("us", user, [key])).toBe(0);
    const counters = await withRegionDb(stack.pgPort, "us", async (c) => (await c.query("SELECT 1 FROM video_counters WHERE video_id = 888888888888888")).rowCount);
    expect(counters).toBe(0);
  });
});
