import { describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { FeedResponseSchema } from "../../shared/contract.ts";
import { REGIONS } from "../../shared/local-ports.ts";
import { countByKeys, residentUser, waitFor, withRegionDb } from "./support/pg.ts";

// One user can neither read nor write another user's private data through the public API: personalized
// pages and cursors are bound to the token's user, a client cannot name a user (or a region) to act as,
// and forged or expired tokens are refused with 401 and the error shape.
const stack = inject("stack");

/** The user a cursor was issued to (its payload is base64url JSON; only the signature is secret). */
function cursorUser(cursor: string): string {
  return JSON.parse(Buffer.from(cursor.split(".")[0], "base64url").toString("utf8")).u as string;
}

async function feed(token: string | null, query: string) {
  const r = await fetch(`${stack.edgeUrl}/v1/feed?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, body: (await r.json()) as unknown };
}

describe("privacy between users", () => {
  it("personalized pages and their cursors belong to the token's user only", async () => {
    const [a, b] = await Promise.all([residentUser(stack.pgPort, "us", 31), residentUser(stack.pgPort, "us", 32)]);
    const [ta, tb] = await Promise.all([mintSessionToken(stack.secrets.SESSION_SECRET, a, "us"), mintSessionToken(stack.secrets.SESSION_SECRET, b, "us")]);
    const pageA = FeedResponseSchema.parse((await feed(ta, "count=7&region=us")).body);
    expect(pageA.next_cursor).toBeTruthy();
    expect(cursorUser(pageA.next_cursor!)).toBe(a.slice(1));
    // Same query, other user: never A's (edge-cached) page, and B's cursor is B's.
    const pageB = FeedResponseSchema.parse((await feed(tb, "count=7&region=us")).body);
    expect(cursorUser(pageB.next_cursor!)).toBe(b.slice(1));
    // B presenting A's cursor is refused (the cursor is signed and bound to A), naming the field.
    const stolen = await feed(tb, `count=7&region=us&cursor=${encodeURIComponent(pageA.next_cursor!)}`);
    expect(stolen.status).toBe(400);
    expect((stolen.body as { error: { field: string } }).error.field).toBe("cursor");
    // So is an anonymous client with it, and a tampered copy.
    expect((await feed(null, `count=7&region=us&cursor=${encodeURIComponent(pageA.next_cursor!)}`)).status).toBe(400);
    const tampered = pageA.next_cursor!.replace(/^./, (ch) => (ch === "e" ? "f" : "e"));
    expect((await feed(ta, `count=7&region=us&cursor=${encodeURIComponent(tampered)}`)).status).toBe(400);
    // A's own cursor works for A.
    expect((await feed(ta, `count=7&region=us&cursor=${encodeURIComponent(pageA.next_cursor!)}`)).status).toBe(200);
  });

  it("a client cannot read as another user by naming one in the query", async () => {
    const a = await residentUser(stack.pgPort, "us", 33);
    const anon = await feed(null, `count=6&region=us&user_id=${a}`);
    expect(anon.status).toBe(200);
    const page = FeedResponseSchema.parse(anon.body);
    if (page.next_cursor) expect(cursorUser(page.next_cursor)).toBe("anon");
  });

  it("events are written as the token's user in the token's home region; the body cannot name another", async () => {
    const [victim, attacker] = await Promise.all([residentUser(stack.pgPort, "eu", 34), residentUser(stack.pgPort, "us", 35)]);
    const token = await mintSessionToken(stack.secrets.SESSION_SECRET, attacker, "us");
    const key = `privacy-${Date.now()}`;
    const ev = { type: "like", video_id: "v7", ts: new Date().toISOString(), idempotency_key: key };
    for (const body of [{ user_id: victim, events: [ev] }, { home_region: "eu", events: [ev] }, { events: [{ ...ev, user_id: victim }] }]) {
      const r = await fetch(`${stack.edgeUrl}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    // The valid batch lands as the attacker, in us only.
    const ok = await fetch(`${stack.edgeUrl}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ events: [ev] }) });
    expect(ok.status).toBe(202);
    await waitFor(async () => (await countByKeys(stack.pgPort, "us", [key])).size === 1, 30_000, "event in us");
    const owner = await withRegionDb(stack.pgPort, "us", async (c) => (await c.query("SELECT user_id::text AS u FROM interactions WHERE idempotency_key = $1", [key])).rows[0].u as string);
    expect(`u${owner}`).toBe(attacker);
    for (const r of REGIONS.filter((r) => r !== "us")) expect((await countByKeys(stack.pgPort, r, [key])).size).toBe(0);
  });

  it("expired, forged and wrongly signed tokens get 401 with the error shape", async () => {
    const u = await residentUser(stack.pgPort, "us", 36);
    const expired = await mintSessionToken(stack.secrets.SESSION_SECRET, u, "us", -120); // past the 60 s clock skew
    const wrongKey = await mintSessionToken("not-the-session-secret-0123456789", u, "us");
    const [h, p] = (await mintSessionToken(stack.secrets.SESSION_SECRET, u, "us")).split(".");
    const noneAlg = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${p}.`;
    const swappedClaims = `${h}.${Buffer.from(JSON.stringify({ sub: "u1", region: "us", exp: 9_999_999_999 })).toString("base64url")}.${(await mintSessionToken(stack.secrets.SESSION_SECRET, u, "us")).split(".")[2]}`;
    for (const t of [expired, wrongKey, noneAlg, swappedClaims]) {
      for (const req of [
        fetch(`${stack.edgeUrl}/v1/feed?count=5`, { headers: { authorization: `Bearer ${t}` } }),
        fetch(`${stack.edgeUrl}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: JSON.stringify({ events: [] }) }),
      ]) {
        const r = await req;
        expect(r.status).toBe(401);
        const j = (await r.json()) as { error: { code: string; field: string } };
        expect(j.error).toMatchObject({ code: "unauthorized", field: "authorization" });
      }
    }
  });
});
