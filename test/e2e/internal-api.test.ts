import fc from "fast-check";
import { describe, expect, inject, it } from "vitest";
import { EventSchema } from "../../shared/contract.ts";
import { REGIONS } from "../../shared/local-ports.ts";
import { residentUser, withRegionDb } from "./support/pg.ts";

// The origins' internal API (called by the edge and its queue consumer) against the real stack:
// every route refuses calls without the service secret, and fuzzed input (generated from and around the
// zod schemas: malformed JSON, wrong types, huge bodies, unicode, negative/overflow numbers, bad
// cursors, foreign regions) gets a 4xx with the error shape, never a 5xx, and writes nothing.
const stack = inject("stack");
const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };
const origin = stack.originUrl.us;

function expectShape(status: number, body: string, what: string): void {
  expect(status, what).toBeLessThan(500);
  if (status >= 400) {
    const j = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof j.error?.code, what).toBe("string");
    expect(typeof j.error?.message, what).toBe("string");
    expect(body, what).not.toMatch(/\bat .*\.(ts|js):\d+/);
  }
}

const ROUTES: [string, string][] = [
  ["GET", "/internal/v1/health"], ["GET", "/internal/v1/feed?count=5"], ["GET", "/internal/v1/trending?count=5"], ["GET", "/internal/v1/videos/v1"],
  ["POST", "/internal/v1/events"], ["POST", "/internal/v1/admin/degradation"], ["POST", "/internal/v1/counters/flush"],
];

const nasty = fc.oneof(
  fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }), fc.integer(), fc.double(), fc.bigInt().map(String), fc.constant(null), fc.constant(-1),
  fc.constant(2 ** 63), fc.constant("v0"), fc.constant("u-1"), fc.constant("u99999999999999999999"), fc.array(fc.anything(), { maxLength: 3 }), fc.object(),
);

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

  it("fuzzed event batches: 2xx or 4xx, and only accepted batches write rows", async () => {
    const user = await residentUser(stack.pgPort, "us", 50);
    const prefix = `fuzz-${Date.now()}-`;
    let n = 0;
    let written = 0;
    const validEvent = fc.record({
      type: fc.constantFrom("view", "like", "unlike", "share", "comment", "skip"),
      video_id: fc.integer({ min: 1, max: 20_000 }).map((i) => `v${i}`),
      watch_ms: fc.integer({ min: 0, max: 86_400_000 }),
      ts: fc.date({ min: new Date("2024-01-01"), max: new Date("2027-01-01"), noInvalidDate: true }).map((d) => d.toISOString()),
    }).map((e) => ({ ...e, idempotency_key: `${prefix}${n++}` }));
    const mutated = fc.tuple(validEvent, fc.array(fc.tuple(fc.constantFrom("type", "video_id", "watch_ms", "ts", "idempotency_key", "author_id", "extra"), fc.option(nasty)), { minLength: 1, maxLength: 2 }))
      .map(([ev, muts]) => {
        const o: Record<string, unknown> = { ...ev };
        for (const [k, v] of muts) {
          if (v === null) delete o[k];
          else o[k] = v;
        }
        return o;
      });
    const body = fc.oneof(
      // Structurally valid envelope with mutated events, wrong user ids or a foreign home region.
      fc.record({ user_id: fc.oneof(fc.constant(user), nasty), home_region: fc.oneof(fc.constantFrom("us", "eu", "apac"), nasty), events: fc.array(fc.oneof(validEvent, mutated), { minLength: 0, maxLength: 4 }) })
        .map((b) => JSON.stringify(b)),
      fc.record({ user_id: fc.constant(user), home_region: fc.constant("us"), events: fc.array(validEvent, { minLength: 1, maxLength: 3 }), extra: nasty }).map((b) => JSON.stringify(b)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.constant(`{"user_id":"${user}","home_region":"us","events":[` + "{},".repeat(150) + "{}]}"),
      fc.constant(`{"pad":"${"x".repeat(1_100_000)}"}`), // over the 1 MiB internal body cap
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const r = await fetch(`${origin}/internal/v1/events`, { method: "POST", headers: { ...secret, "content-type": "application/json" }, body: b });
        const text = await r.text();
        expectShape(r.status, text, b.slice(0, 160));
        if (r.ok) {
          const j = JSON.parse(text) as { written: number };
          // Accepted batches are exactly the ones the schema accepts, for this region's resident.
          const parsed = JSON.parse(b) as { user_id: unknown; home_region: unknown; events: unknown[] };
          expect(parsed.user_id).toBe(user);
          expect(parsed.home_region).toBe("us");
          for (const e of parsed.events) expect(EventSchema.safeParse(e).success).toBe(true);
          written += j.written;
        }
      }),
      { numRuns: 120 },
    );
    let stored = 0;
    for (const r of REGIONS) {
      const c = await withRegionDb(stack.pgPort, r, async (db) => (await db.query("SELECT count(*)::int AS n FROM interactions WHERE idempotency_key LIKE $1", [`${prefix}%`])).rows[0].n as number);
      if (r !== "us") expect(c, `rows in ${r}`).toBe(0);
      stored += c;
    }
    expect(stored).toBe(written);
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
});
