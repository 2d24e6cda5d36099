import { SELF, env } from "cloudflare:test";
import { mintSessionToken } from "../../shared/auth.ts";
import { describe, expect, it } from "vitest";

// Security behaviour of the edge inside workerd: per-client rate limit (real Rate Limiting binding, 1000
// per 10 s in the test config), security headers, CORS, and the internal/admin boundaries.
/**
 * Sends requests in parallel batches of 200 until one is refused with 429 (the budget is 1,000 per 10 s
 * window): batches keep enough in flight that a busy machine cannot spread them over two windows; gives
 * up after 6,000.
 */
async function exhaust(hit: () => Promise<Response>): Promise<Response> {
  let limited: Response | null = null;
  for (let sent = 0; sent < 6000 && !limited; sent += 200) {
    const batch = await Promise.all(Array.from({ length: 200 }, hit));
    for (const r of batch) {
      if (r.status === 429 && !limited) limited = r;
      else await r.arrayBuffer();
    }
  }
  expect(limited, "no 429 after 6,000 requests").not.toBeNull();
  return limited!;
}

describe("edge security", () => {
  it("a client over its budget gets 429 with retry-after and the error shape; other clients are unaffected", async () => {
    const hit = (ip: string) => SELF.fetch("http://edge/v1/videos/not-an-id", { headers: { "cf-connecting-ip": ip } });
    const limited = await exhaust(() => hit("203.0.113.7"));
    expect(limited!.headers.get("retry-after")).toBeTruthy();
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    expect((await hit("198.51.100.9")).status).toBe(400); // another client: still served (bad id → 400)
  });

  it("signed-in clients have one budget per user, not per IP: a noisy user behind a shared IP does not starve the others", async () => {
    const e = env as unknown as { SESSION_SECRET: string };
    const [noisy, quiet] = await Promise.all([mintSessionToken(e.SESSION_SECRET, "u9001", "us"), mintSessionToken(e.SESSION_SECRET, "u9002", "us")]);
    const ip = "192.0.2.44";
    const hit = (token: string | null, forged = false) =>
      SELF.fetch("http://edge/v1/videos/not-an-id", { headers: { "cf-connecting-ip": ip, ...(token ? { authorization: `Bearer ${forged ? token.slice(0, -2) + "xx" : token}` } : {}) } });
    await (await exhaust(() => hit(noisy))).arrayBuffer();
    // Same IP, another user, an anonymous client: their own budgets.
    expect((await hit(quiet)).status).toBe(400);
    expect((await hit(null)).status).toBe(400);
    // A tampered token is not that user: it is counted against the IP (whose budget is still open here).
    expect((await hit(noisy, true)).status).toBe(400);
  });

  it("responses carry security headers; the API answers CORS preflights", async () => {
    const r = await SELF.fetch("http://edge/healthz");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-frame-options")).toBeTruthy();
    expect(r.headers.get("strict-transport-security")).toBeTruthy();
    const pre = await SELF.fetch("http://edge/v1/feed", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET,HEAD,POST,PATCH"); // the API's own methods
    // Every API worker answer is readable from another origin, the OpenAPI document and health included.
    for (const path of ["/openapi.json", "/healthz"]) expect((await SELF.fetch(`http://edge${path}`)).headers.get("access-control-allow-origin"), path).toBe("*");
    // Other API answers (errors included) carry the CORS headers too, set once on the final response.
    const api = await SELF.fetch("http://edge/v1/feed?count=0", { headers: { origin: "https://app.example" } });
    expect(api.status).toBe(400);
    expect(api.headers.get("access-control-allow-origin")).toBe("*");
    expect(api.headers.get("access-control-expose-headers")).toMatch(/x-cache/);
    expect(api.headers.get("x-request-id")).toBeTruthy();
    expect(api.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("a feed or video answer built in one step (edge/response-headers.ts) carries the same headers as any other", async () => {
    const security = (r: Response) => [...r.headers].filter(([k]) => !/^(content-type|content-length|x-request-id|x-cache|x-fyp|x-region|x-degradation|x-hot|server-timing|cache-control|access-control|date|etag|vary|x-cache-tier|retry-after)/.test(k));
    const reference = security(await SELF.fetch("http://edge/healthz")); // set after the handler by hono/secure-headers
    // The API's set (OWASP REST Security Cheat Sheet), not the browser-page defaults.
    expect(Object.fromEntries(reference)).toEqual({
      "content-security-policy": "frame-ancestors 'none'", "cross-origin-resource-policy": "cross-origin",
      "strict-transport-security": "max-age=15552000; includeSubDomains", "x-content-type-options": "nosniff", "x-frame-options": "DENY",
    });
    for (const url of ["http://edge/v1/feed?count=3&region=eu", "http://edge/v1/videos/v1?region=eu"]) {
      const r = await SELF.fetch(url, { headers: { "x-request-id": "req-one-step-0001" } });
      await r.arrayBuffer();
      expect(security(r), url).toEqual(reference);
      expect(r.headers.get("x-request-id"), url).toBe("req-one-step-0001");
      expect(r.headers.get("access-control-allow-origin"), url).toBe("*");
      expect(r.headers.get("access-control-expose-headers"), url).toMatch(/x-cache/);
      expect(r.headers.get("x-powered-by"), url).toBeNull();
    }
  });

  it("failover timings can be changed at runtime by an admin, validated", async () => {
    const post = (body: unknown, token = "test-admin-token-0123456789abcdef") =>
      SELF.fetch("http://edge/v1/admin/region-health/timings", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const bad = await post({ probeIntervalMs: -5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("probeIntervalMs");
    const unknown = await post({ nope: 1 });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { field: string } }).error.field).toBe("nope");
    const ok = await post({ antiFlapMs: 2500 });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { timings: { antiFlapMs: number } }).timings.antiFlapMs).toBe(2500);
    expect((await post({ antiFlapMs: 2500 }, "wrong-token-0123456789")).status).toBe(403);
  });

  it("admin endpoints: 401 without a token, 403 with a session token", async () => {
    expect((await SELF.fetch("http://edge/v1/admin/prewarm", { method: "POST" })).status).toBe(401);
    const r = await SELF.fetch("http://edge/v1/admin/prewarm", { method: "POST", headers: { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.x" } });
    expect(r.status).toBe(403);
  });
});
