import fc from "fast-check";
import { describe, expect, inject, it } from "vitest";
import { EventSchema } from "../../shared/contract.ts";
import { REGIONS } from "../../shared/local-ports.ts";
import { OriginEventsBody } from "../../origin/events-routes.ts";
import { expectShape } from "../support/error-shape.ts";
import { invalidFor, validFor } from "../support/schema-arbitrary.ts";
import { countByKeys, residentUser, withRegionDb } from "./support/pg.ts";

// The origins' internal API (called by the edge and its queue consumer) against the real stack:
// every route refuses calls without the service secret, and fuzzed input (generated from and around the
// zod schemas: malformed JSON, wrong types, huge bodies, unicode, negative/overflow numbers, bad
// cursors, foreign regions) gets a 4xx with the error shape, never a 5xx, and writes nothing.
const stack = inject("stack");
const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };
const origin = stack.originUrl.us;

const ROUTES: [string, string][] = [
  ["GET", "/internal/v1/health"], ["GET", "/internal/v1/feed?count=5"], ["GET", "/internal/v1/trending?count=5"], ["GET", "/internal/v1/videos/v1"],
  ["POST", "/internal/v1/events"], ["POST", "/internal/v1/admin/degradation"], ["POST", "/internal/v1/counters/flush"],
];

const post = (body: string) => fetch(`${origin}/internal/v1/events`, { method: "POST", headers: { ...secret, "content-type": "application/json" }, body });

describe("origin internal API", () => {
  it("every internal route answers 401 with the error shape without the service secret, or with a wrong one", async () => {
    for (const [method, path] of ROUTES) {
      for (const headers of [{}, { "x-internal-secret": "wrong" }, { "x-internal-secret": "" }] as Record<string, string>[]) {
        const r = await fetch(`${origin}${path}`, { method, headers: { ...headers, "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined });
        const body = await r.text();
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(JSON.parse(body).error).toMatchObject({ code: "unauthorized", field: "x-internal-secret" });
      }
    }
  });

  it("fuzzed event batches: schema-valid ones for a resident are written exactly; everything else gets 4xx and writes nothing", async () => {
    const [user, foreigner] = await Promise.all([residentUser(stack.pgPort, "us", 50), residentUser(stack.pgPort, "eu", 50)]);
    const prefix = `fuzz-${Date.now()}-`;
    let n = 0;
    // Accepted: schema-generated events (unique keys under our prefix) for a resident of this region, on
    // seeded videos (an unknown video is a 422 unknown_video: test/e2e/events-data-faults.test.ts).
    const valid = fc.array(validFor(EventSchema), { minLength: 1, maxLength: 4 }).map((events) => ({
      user_id: user, home_region: "us", events: events.map((e) => ({ ...e, ...(e.video_id ? { video_id: `v${1 + (n % 1000)}` } : {}), idempotency_key: `${prefix}${n++}` })),
    }));
    let written = 0;
    await fc.assert(
      fc.asyncProperty(valid, async (b) => {
        const r = await post(JSON.stringify(b));
        const text = await r.text();
        expect(r.status, text).toBe(200);
        expect((JSON.parse(text) as { written: number }).written).toBe(b.events.length);
        written += b.events.length;
      }),
      { numRuns: 30 },
    );
    // Rejected: schema-invalid envelopes/events, valid batches for the wrong user or region, random JSON,
    // bytes, and bodies over the 1 MiB internal cap.
    const misrouted = fc.tuple(valid, fc.constantFrom<[string, string]>([foreigner, "us"], [user, "eu"], [user, "apac"], ["u999999999", "us"]))
      .map(([b, [user_id, home_region]]) => ({ ...b, user_id, home_region }));
    const rejected = fc.oneof(
      invalidFor(OriginEventsBody).map((v) => JSON.stringify(v) ?? "null"),
      misrouted.map((v) => JSON.stringify(v)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.constant(`{"user_id":"${user}","home_region":"us","events":[` + "{},".repeat(150) + "{}]}"),
      fc.constant(`{"pad":"${"x".repeat(1_100_000)}"}`),
    );
    const rejectedKeys: string[] = [];
    await fc.assert(
      fc.asyncProperty(rejected, async (b) => {
        const r = await post(b);
        const text = await r.text();
        expectShape(r.status, text, b.slice(0, 160));
        expect(r.status, b.slice(0, 160)).toBeGreaterThanOrEqual(400);
        rejectedKeys.push(...[...b.matchAll(/"idempotency_key":"([^"\\]{1,128})"/g)].map((m) => m[1]));
      }),
      { numRuns: 150 },
    );
    let stored = 0;
    for (const r of REGIONS) {
      const c = await withRegionDb(stack.pgPort, r, async (db) => (await db.query("SELECT count(*)::int AS n FROM interactions WHERE idempotency_key LIKE $1", [`${prefix}%`])).rows[0].n as number);
      if (r !== "us") expect(c, `rows in ${r}`).toBe(0);
      stored += c;
    }
    expect(stored).toBe(written);
    // Rejected batches with keys outside our prefix (schema-mutated ones): none of their keys anywhere.
    const foreignKeys = rejectedKeys.filter((k) => !k.startsWith(prefix));
    expect(foreignKeys.length).toBeGreaterThan(10);
    for (const r of REGIONS) expect((await countByKeys(stack.pgPort, r, foreignKeys)).size, `rejected keys in ${r}`).toBe(0);
  });

  it("fuzzed feed, trending, video and admin input: 2xx or 4xx with the error shape", async () => {
    const qv = fc.option(fc.oneof(fc.integer().map(String), fc.string({ unit: "grapheme", maxLength: 30 }), fc.constant("-1"), fc.constant("1e309"), fc.constant("0x10"), fc.constant("9".repeat(40))));
    const cursor = fc.option(fc.oneof(fc.string({ maxLength: 300 }), fc.base64String({ maxLength: 200 }), fc.constant("eyJjIjoiYSIsIm8iOi0xLCJ1IjoiYW5vbiJ9.AAAA"), fc.constant("a".repeat(5000))));
    const user = fc.option(fc.oneof(fc.string({ maxLength: 30 }), fc.constant("u0"), fc.constant("u-5"), fc.constant("u99999999999999999999"), fc.integer({ min: 1, max: 3000 }).map((i) => `u${i}`)));
    await fc.assert(
      fc.asyncProperty(qv, cursor, user, fc.string({ unit: "grapheme", maxLength: 40 }), fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ maxLength: 100 })), async (count, cur, uid, vid, adminBody) => {
        const sp = new URLSearchParams();
        if (count !== null) sp.set("count", count);
        if (cur !== null) sp.set("cursor", cur);
        if (uid !== null) sp.set("user_id", uid);
        const rs = await Promise.all([
          fetch(`${origin}/internal/v1/feed?${sp}`, { headers: secret }),
          fetch(`${origin}/internal/v1/trending?${sp}`, { headers: secret }),
          fetch(`${origin}/internal/v1/videos/${encodeURIComponent(vid)}`, { headers: secret }),
          // Only invalid bodies: a valid one would really force a level on this origin.
          fetch(`${origin}/internal/v1/admin/degradation`, { method: "POST", headers: { ...secret, "content-type": "application/json" }, body: /"level"/.test(adminBody) ? "{" : adminBody }),
        ]);
        for (const r of rs) expectShape(r.status, await r.text(), `${r.url} ${adminBody}`);
        expect(rs[3].status).toBe(400);
      }),
      { numRuns: 60 },
    );
  });
  it("input kinds on the internal routes: U+0000, a repeated idempotency key, content-type, a non-object body, a repeated query parameter", async () => {
    const json = { ...secret, "content-type": "application/json" };
    const ts = new Date().toISOString();
    const meta = { user_id: "u1", home_region: "us", ts, accepted_in: "us" };
    const call = async (method: string, path: string, body: BodyInit | undefined, headers: Record<string, string>) => {
      const r = await fetch(`${origin}${path}`, { method, headers, body });
      const text = await r.text();
      expectShape(r.status, text, path);
      return { status: r.status, field: (JSON.parse(text) as { error?: { field?: string } }).error?.field, text };
    };
    // Postgres text cannot hold U+0000: a 400 naming the caption before any write (it was a 422 from the database).
    expect(await call("POST", "/internal/v1/videos", JSON.stringify({ caption: "nul\u0000inside", duration_ms: 1000, video_id: "v990000001", ...meta }), json)).toMatchObject({ status: 400, field: "caption" });
    expect(await call("PATCH", "/internal/v1/videos/v1", JSON.stringify({ patch: { caption: "nul\u0000inside" }, ...meta }), json)).toMatchObject({ status: 400, field: "patch.caption" });
    // The later of two events with one idempotency key is named (it was silently dropped by ON CONFLICT).
    const ev = { type: "view", video_id: "v1", watch_ms: 10, ts, idempotency_key: `dup-${Date.now()}` };
    expect(await call("POST", "/internal/v1/events", JSON.stringify({ user_id: "u1", home_region: "us", events: [ev, ev] }), json)).toMatchObject({ status: 400, field: "events.1.idempotency_key" });
    // Every JSON-body route: 415 for another or no content-type, 400 naming body for JSON that is not an object.
    const bodyRoutes: [string, string][] = [["POST", "/internal/v1/events"], ["POST", "/internal/v1/videos"], ["PATCH", "/internal/v1/videos/v1"], ["POST", "/internal/v1/admin/degradation"], ["POST", "/internal/v1/admin/db-fault"]];
    for (const [method, path] of bodyRoutes) {
      expect(await call(method, path, "{}", { ...secret, "content-type": "text/plain" }), `${method} ${path}`).toMatchObject({ status: 415, field: "content-type" });
      expect(await call(method, path, new Blob(["{}"]), secret), `${method} ${path} untyped`).toMatchObject({ status: 415, field: "content-type" });
      for (const b of ["null", "[]", "123", '"x"']) expect(await call(method, path, b, json), `${method} ${path} ${b}`).toMatchObject({ status: 400, field: "body" });
    }
    // A repeated query parameter is named; an empty cursor is no cursor.
    expect(await call("GET", "/internal/v1/feed?count=5&count=abc", undefined, secret)).toMatchObject({ status: 400, field: "count" });
    expect(await call("GET", "/internal/v1/trending?count=5&count=6", undefined, secret)).toMatchObject({ status: 400, field: "count" });
    expect((await call("GET", "/internal/v1/feed?count=2&cursor=", undefined, secret)).status).toBe(200);
  });
});
