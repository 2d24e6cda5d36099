import { SELF, env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { EventsBodySchema, FeedQuerySchema } from "../../shared/contract.ts";
import { DegradationBody, RollbackBody } from "../../edge/admin-routes.ts";
import { TimingOverridesSchema } from "../../edge/region-health-config.ts";
import { expectShape } from "../support/error-shape.ts";
import { invalidFor, nastyValue, validFor } from "../support/schema-arbitrary.ts";
import { setForcedLevel } from "../../edge/forced-levels.ts";

// Property-based input fuzzing of the public and admin edge endpoints inside workerd: whatever arrives,
// the answer is a 2xx or a 4xx with the error shape — never a 5xx, never a stack trace. Inputs are
// generated from the same zod schemas the handlers validate with (test/support/schema-arbitrary.ts):
// schema-valid bodies must be accepted, schema-invalid ones must get exactly 400.
const e = env as unknown as Record<string, string> & { FYP_KV: Parameters<typeof setForcedLevel>[0] };
let token = "";

beforeAll(async () => {
  token = await mintSessionToken(e.SESSION_SECRET, "u42", "eu");
  // Level 5 everywhere: valid feed reads answer from the emergency page without calling (unreachable) origins.
  for (const r of ["us", "eu", "apac"] as const) await setForcedLevel(e.FYP_KV, r, 5);
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  SELF.fetch(`http://edge${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
const adminHeaders = () => ({ authorization: `Bearer ${e.ADMIN_TOKEN}` });

describe("fuzzed input never causes a 5xx", () => {
  it("schema-valid event batches are accepted (202)", async () => {
    await fc.assert(
      fc.asyncProperty(validFor(EventsBodySchema), async (body) => {
        const r = await post("/v1/events", JSON.stringify(body), { authorization: `Bearer ${token}` });
        expect(r.status, JSON.stringify(body).slice(0, 200)).toBe(202);
        await r.arrayBuffer();
      }),
      { numRuns: 25 },
    );
  });

  it("schema-invalid event batches get 400 naming a field; random JSON, bytes and huge bodies get 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(invalidFor(EventsBodySchema), async (body) => {
        const text = JSON.stringify(body) ?? "null";
        const r = await post("/v1/events", text, { authorization: `Bearer ${token}` });
        const got = await r.text();
        expect(r.status, text.slice(0, 200)).toBe(400);
        expectShape(r.status, got, text.slice(0, 200));
      }),
      { numRuns: 120 },
    );
    const other = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.constant(JSON.stringify({ events: Array.from({ length: 101 }, () => ({})) })),
      fc.constant("x".repeat(70_000)),
    );
    await fc.assert(
      fc.asyncProperty(other, fc.boolean(), async (b, auth) => {
        const r = await post("/v1/events", b, auth ? { authorization: `Bearer ${token}` } : {});
        expectShape(r.status, await r.text(), b.slice(0, 120));
        // The body cap is checked as the body streams in, before the handler looks at the token.
        if (new TextEncoder().encode(b).byteLength > 64 * 1024) expect(r.status).toBe(413);
        else if (!auth) expect(r.status).toBe(401);
      }),
      { numRuns: 100 },
    );
  });

  it("GET /v1/feed with schema-generated, mutated and random queries and forged tokens → 200 or 4xx", async () => {
    const q = fc.oneof(validFor(FeedQuerySchema), invalidFor(FeedQuerySchema), fc.record({ count: nastyValue, cursor: nastyValue, region: nastyValue }, { requiredKeys: [] }));
    const authz = fc.oneof(fc.constant(undefined), fc.string(), fc.constant(`Bearer ${"a".repeat(20)}.${"b".repeat(20)}.${"c".repeat(20)}`), fc.constant("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsInJlZ2lvbiI6ImV1In0."));
    await fc.assert(
      fc.asyncProperty(q, authz, async (params, a) => {
        const sp = new URLSearchParams();
        if (params && typeof params === "object") for (const [k, v] of Object.entries(params)) if (v !== undefined) sp.set(k, typeof v === "string" ? v : JSON.stringify(v));
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

  it("videos, trending and the emergency page with random ids and regions → 2xx or 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 40 }), fc.oneof(fc.constantFrom("us", "eu", "apac"), fc.string({ maxLength: 20 })), fc.oneof(fc.integer().map(String), fc.string({ maxLength: 8 })), async (id, region, count) => {
        for (const path of [`/v1/videos/${encodeURIComponent(id)}x`, `/v1/trending?region=${encodeURIComponent(region)}&count=${encodeURIComponent(count)}`, `/emergency?region=${encodeURIComponent(region)}`]) {
          const r = await SELF.fetch(`http://edge${path}`);
          const body = await r.text();
          expect(r.status, path).toBeLessThan(500);
          if (r.status >= 400 && r.headers.get("content-type")?.includes("json")) expectShape(r.status, body, path);
        }
      }),
      { numRuns: 80 },
    );
  });

  it("admin endpoints: schema-invalid bodies → 400 naming the problem, never 5xx; drain/restore with random regions → 4xx", async () => {
    for (const [path, schema] of [["/v1/admin/degradation", DegradationBody], ["/v1/admin/region-health/timings", TimingOverridesSchema], ["/v1/admin/config/rollback", RollbackBody]] as const) {
      // Invalid as sent: JSON turns some invalid values valid (NaN → null makes {"level": NaN} a release).
      const invalidJson = invalidFor(schema).map((v) => JSON.stringify(v) ?? "null").filter((s) => !schema.safeParse(JSON.parse(s)).success);
      await fc.assert(
        fc.asyncProperty(fc.oneof(invalidJson, fc.string({ maxLength: 100 })), async (body) => {
          const r = await post(path, body, adminHeaders());
          const text = await r.text();
          expectShape(r.status, text, `${path} ${body.slice(0, 120)}`);
          expect(r.status, `${path} ${body.slice(0, 120)}`).toBe(400);
        }),
        { numRuns: 60 },
      );
    }
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }).filter((r) => !["us", "eu", "apac"].includes(r)), fc.constantFrom("drain", "restore"), async (region, action) => {
        const r = await post(`/v1/admin/regions/${encodeURIComponent(region)}/${action}`, "", adminHeaders());
        const text = await r.text();
        expect(r.status, region).toBeGreaterThanOrEqual(400);
        expectShape(r.status, text, region);
      }),
      { numRuns: 40 },
    );
  });
});
