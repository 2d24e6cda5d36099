import { SELF, env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { EventSchema } from "../../shared/contract.ts";
import { setForcedLevel } from "../../edge/forced-levels.ts";

// Property-based input fuzzing of the public edge endpoints inside workerd: whatever arrives, the answer
// is a 2xx or a 4xx with the error shape — never a 5xx, never a stack trace. Valid events are generated
// from the same zod schema the handler validates with (every generated valid event must parse).
const e = env as unknown as Record<string, string> & { FYP_KV: Parameters<typeof setForcedLevel>[0] };
let token = "";

const validEvent = fc.record({
  type: fc.constantFrom("view", "like", "unlike", "share", "comment", "skip"),
  video_id: fc.bigInt({ min: 1n, max: 10n ** 17n }).map((n) => `v${n}`),
  watch_ms: fc.integer({ min: 0, max: 86_400_000 }),
  ts: fc.date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true }).map((d) => d.toISOString()),
  idempotency_key: fc.stringMatching(/^[A-Za-z0-9_\-:.]{8,64}$/),
});
const nasty = fc.oneof(
  fc.string(), fc.string({ unit: "binary" }), fc.integer(), fc.double(), fc.constant(null), fc.constant(-1), fc.constant(Number.MAX_SAFE_INTEGER * 10),
  fc.constant("v0"), fc.constant("v-1"), fc.constant("u1"), fc.array(fc.anything(), { maxLength: 3 }), fc.object(),
);
/** A valid event with 0–2 fields replaced by garbage or removed. */
const mutatedEvent = fc.tuple(validEvent, fc.array(fc.tuple(fc.constantFrom("type", "video_id", "watch_ms", "ts", "idempotency_key", "extra"), fc.option(nasty)), { maxLength: 2 }))
  .map(([ev, muts]) => {
    const o: Record<string, unknown> = { ...ev };
    for (const [k, v] of muts) {
      if (v === null) delete o[k];
      else o[k] = v;
    }
    return o;
  });

function expectShape(status: number, body: string, what: string) {
  expect(status, what).toBeLessThan(500);
  if (status >= 400) {
    const j = JSON.parse(body) as { error?: { code?: string; message?: string } };
    expect(typeof j.error?.code, what).toBe("string");
    expect(body, what).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack traces
  }
}

beforeAll(async () => {
  token = await mintSessionToken(e.SESSION_SECRET, "u42", "eu");
  // Level 5 everywhere: valid feed reads answer from the emergency page without calling (unreachable) origins.
  for (const r of ["us", "eu", "apac"] as const) await setForcedLevel(e.FYP_KV, r, 5);
});

describe("fuzzed input never causes a 5xx", () => {
  it("generated valid events are accepted (202) and match the zod schema", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(validEvent, { minLength: 1, maxLength: 5 }), async (events) => {
        for (const ev of events) expect(EventSchema.safeParse(ev).success).toBe(true);
        const r = await SELF.fetch("http://edge/v1/events", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ events }) });
        expect(r.status).toBe(202);
        await r.arrayBuffer();
      }),
      { numRuns: 25 },
    );
  });

  it("POST /v1/events with mutated events, random JSON and random bytes → 202 or 4xx", async () => {
    const body = fc.oneof(
      fc.array(mutatedEvent, { minLength: 0, maxLength: 4 }).map((events) => JSON.stringify({ events })),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.constant(JSON.stringify({ events: Array.from({ length: 101 }, () => ({})) })),
      fc.constant("x".repeat(70_000)),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (b, auth) => {
        const r = await SELF.fetch("http://edge/v1/events", { method: "POST", headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" }, body: b });
        expectShape(r.status, await r.text(), b.slice(0, 120));
        if (!auth) expect(r.status).toBe(401);
      }),
      { numRuns: 150 },
    );
  });

  it("GET /v1/feed with random query values and forged tokens → 200 or 4xx", async () => {
    const q = fc.record({ count: fc.option(fc.oneof(fc.integer().map(String), fc.string())), cursor: fc.option(fc.string({ maxLength: 3000 })), region: fc.option(fc.oneof(fc.constantFrom("us", "eu", "apac"), fc.string())) });
    const authz = fc.oneof(fc.constant(undefined), fc.string(), fc.constant(`Bearer ${"a".repeat(20)}.${"b".repeat(20)}.${"c".repeat(20)}`), fc.constant("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsInJlZ2lvbiI6ImV1In0."));
    await fc.assert(
      fc.asyncProperty(q, authz, async (params, a) => {
        const sp = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) if (v !== null) sp.set(k, v);
        const headers: Record<string, string> = {};
        if (a !== undefined) headers.authorization = a;
        let r: Response;
        try {
          r = await SELF.fetch(`http://edge/v1/feed?${sp}`, { headers });
        } catch {
          return; // header values the fetch API itself refuses never reach the worker
        }
        expectShape(r.status, await r.text(), `${sp} ${a}`);
      }),
      { numRuns: 150 },
    );
  });

  it("GET /v1/videos/:id and admin endpoints with random input → 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.string({ maxLength: 200 }), async (id, body) => {
        const r1 = await SELF.fetch(`http://edge/v1/videos/${encodeURIComponent(id)}x`);
        expectShape(r1.status, await r1.text(), id);
        const r2 = await SELF.fetch("http://edge/v1/admin/degradation", { method: "POST", headers: { authorization: `Bearer ${e.ADMIN_TOKEN}` }, body });
        expectShape(r2.status, await r2.text(), body);
      }),
      { numRuns: 100 },
    );
  });
});
