import { SELF, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { setForcedLevel } from "../../edge/forced-levels.ts";
import { expectErrorShape } from "../support/error-shape.ts";

// Input validation by kind, through the real edge worker (SELF), from a new-user trial: each kind holds
// on every route that takes that input. Strings Postgres cannot store (U+0000) are a 400 naming the
// field; a batch repeating an idempotency key is a 400 naming the later one; a JSON-body route refuses
// any other content-type (415 naming `content-type`); a repeated query parameter is a 400 naming it; a
// body that is JSON but not an object is a 400 naming `body`; `?cursor=` (empty) means no cursor.
const e = env as unknown as Record<string, string> & { FYP_KV: Parameters<typeof setForcedLevel>[0] };
const ADMIN = { authorization: `Bearer ${e.ADMIN_TOKEN}` };
let user: Record<string, string> = {};

beforeAll(async () => {
  user = { authorization: `Bearer ${await mintSessionToken(e.SESSION_SECRET, "u42", "eu")}` };
  // Level 5 everywhere: valid feed reads answer from the emergency page without calling (unreachable) origins.
  for (const r of ["us", "eu", "apac"] as const) await setForcedLevel(e.FYP_KV, r, 5);
});

const send = (method: string, path: string, body: string | undefined, headers: Record<string, string>) =>
  SELF.fetch(`http://edge${path}`, { method, headers, body });
const json = { "content-type": "application/json" };
const event = (key: string) => ({ type: "view", video_id: "v1", watch_ms: 10, ts: new Date().toISOString(), idempotency_key: key });

/** Every JSON-body route of the edge with a body it accepts and the headers it needs. */
const BODY_ROUTES: [string, string, unknown, () => Record<string, string>][] = [
  ["POST", "/v1/events", { events: [event("ik-kinds-1")] }, () => user],
  ["POST", "/v1/videos", { caption: "hello", duration_ms: 1000 }, () => user],
  ["PATCH", "/v1/videos/v1", { caption: "hello" }, () => user],
  ["POST", "/v1/admin/degradation", { region: "us", level: 5 }, () => ADMIN],
  ["POST", "/v1/admin/dlq/replay", {}, () => ADMIN],
  ["POST", "/v1/admin/region-health/timings", { antiFlapMs: 2500 }, () => ADMIN],
];

async function expectField(r: Response, status: number, field: string, what: string) {
  const body = await expectErrorShape(r);
  expect(r.status, `${what}: ${JSON.stringify(body)}`).toBe(status);
  expect(body.error.field, what).toBe(field);
}

describe("input kinds at the edge", () => {
  it("a caption with U+0000 is a 400 naming caption on upload and edit (Postgres text cannot hold it)", async () => {
    await expectField(await send("POST", "/v1/videos", JSON.stringify({ caption: "nul\u0000inside", duration_ms: 1000 }), { ...json, ...user }), 400, "caption", "upload");
    await expectField(await send("PATCH", "/v1/videos/v1", JSON.stringify({ caption: "nul\u0000inside" }), { ...json, ...user }), 400, "caption", "patch");
  });

  it("the same idempotency key twice in one batch is a 400 naming the later duplicate", async () => {
    const body = JSON.stringify({ events: [event("ik-dup-0001"), event("ik-dup-0001")] });
    await expectField(await send("POST", "/v1/events", body, { ...json, ...user }), 400, "events.1.idempotency_key", "events");
    const three = JSON.stringify({ events: [event("ik-dup-a001"), event("ik-dup-b001"), event("ik-dup-b001")] });
    await expectField(await send("POST", "/v1/events", three, { ...json, ...user }), 400, "events.2.idempotency_key", "events");
  });

  it("every JSON-body route refuses text/plain, a form and no content-type with 415 naming content-type", async () => {
    for (const [method, path, body, headers] of BODY_ROUTES) {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
        const h: Record<string, string> = { ...headers(), ...(type ? { "content-type": type } : {}) };
        // A body without a type: fetch would add text/plain for a string, so send bytes.
        const raw = type ? JSON.stringify(body) : (new TextEncoder().encode(JSON.stringify(body)) as unknown as string);
        await expectField(await send(method, path, raw, h), 415, "content-type", `${method} ${path} ${type}`);
      }
      // The same body as application/json (any case, with a charset) is not refused for its type.
      const ok = await send(method, path, JSON.stringify(body), { ...headers(), "content-type": "Application/JSON; charset=utf-8" });
      expect(ok.status, `${method} ${path}`).toBeLessThan(400);
    }
  });

  it("a JSON body that is not an object (null, [], 123, \"x\") is a 400 naming body", async () => {
    for (const [method, path, , headers] of BODY_ROUTES) {
      for (const raw of ["null", "[]", "123", '"x"']) await expectField(await send(method, path, raw, { ...json, ...headers() }), 400, "body", `${method} ${path} ${raw}`);
    }
  });

  it("a repeated query parameter is a 400 naming it on feed, trending, videos and emergency", async () => {
    const cases: [string, string][] = [
      ["/v1/feed?count=5&count=abc", "count"],
      ["/v1/feed?region=eu&region=mars", "region"],
      ["/v1/feed?cursor=a&count=2&cursor=b", "cursor"],
      ["/v1/trending?region=eu&region=mars", "region"],
      ["/v1/videos/v1?region=eu&region=us", "region"],
      ["/emergency?region=eu&region=eu", "region"],
    ];
    for (const [path, field] of cases) await expectField(await send("GET", path, undefined, user), 400, field, path);
  });

  it("an empty cursor means no cursor, like an empty count means the default", async () => {
    for (const q of ["cursor=", "count=", "cursor=&count="]) {
      const r = await send("GET", `/v1/feed?${q}&region=eu`, undefined, user);
      expect(r.status, q).toBe(200);
      await r.arrayBuffer();
    }
  });
});
