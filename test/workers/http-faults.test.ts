import { SELF, env } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { expectErrorShape } from "../support/error-shape.ts";

// Issue 11 §3/§5 inside workerd, through the real edge worker (SELF): 404 versus 405 + Allow, body caps
// that hold for chunked bodies, and the registered JWT claims checked the way mainstream verifiers do.
const e = env as unknown as { SESSION_SECRET: string };
const key = () => new TextEncoder().encode(e.SESSION_SECRET);
const now = () => Math.floor(Date.now() / 1000);

/** A token with exactly the given claims (sub/region filled in), signed with the edge's secret. */
function token(claims: Record<string, number | undefined>): Promise<string> {
  const t = new SignJWT({ region: "us" }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject("u42");
  if (claims.iat !== undefined) t.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) t.setExpirationTime(claims.exp);
  if (claims.nbf !== undefined) t.setNotBefore(claims.nbf);
  return t.sign(key());
}
const feedWith = (t: string) => SELF.fetch("http://edge/v1/feed?count=1&region=us", { headers: { authorization: `Bearer ${t}` } });

describe("HTTP faults at the edge", () => {
  it("unknown paths are 404 not_found, wrong methods on real paths are 405 with Allow", async () => {
    for (const path of ["/v1/feeds", "/v1/feed/", "/v1/videos/", "/v1/nope", "/v1/events/x"]) {
      const r = await SELF.fetch(`http://edge${path}`);
      expect(r.status, path).toBe(404);
      expect((await expectErrorShape(r)).error.code).toBe("not_found");
    }
    const cases: [string, string, string][] = [
      ["DELETE", "/v1/feed", "GET, HEAD"],
      ["POST", "/v1/feed", "GET, HEAD"],
      ["GET", "/v1/events", "POST"],
      ["PUT", "/v1/videos/v1", "GET, HEAD"],
      ["GET", "/v1/admin/prewarm", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const r = await SELF.fetch(`http://edge${path}`, { method, headers: { authorization: "Bearer test-admin-token-0123456789abcdef" } });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get("allow"), `${method} ${path}`).toContain(allow);
      expect((await expectErrorShape(r)).error.code).toBe("method_not_allowed");
    }
  });

  it("a body over the cap is 413 whatever the framing: content-length or chunked", async () => {
    const t = await mintSessionToken(e.SESSION_SECRET, "u42", "us");
    const big = JSON.stringify({ events: [], pad: "x".repeat(90 * 1024) });
    const headers = { authorization: `Bearer ${t}`, "content-type": "application/json" };
    const sized = await SELF.fetch("http://edge/v1/events", { method: "POST", headers, body: big });
    expect(sized.status).toBe(413);
    // A ReadableStream body has no length: workerd sends it chunked.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < bytes.length; i += 8192) ctl.enqueue(bytes.subarray(i, i + 8192));
        ctl.close();
      },
    });
    const chunked = await SELF.fetch("http://edge/v1/events", { method: "POST", headers, body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await expectErrorShape(chunked)).error.field).toBe("body");
    // Admin bodies have a smaller cap (10 kB), chunked too.
    const admin = await SELF.fetch("http://edge/v1/admin/degradation", {
      method: "POST", headers: { authorization: "Bearer test-admin-token-0123456789abcdef", "content-type": "application/json" },
      body: new Blob(["{" + " ".repeat(20_000) + "}"]).stream(), duplex: "half",
    } as RequestInit);
    expect(admin.status).toBe(413);
  });

  it("tokens need exp and iat, a bounded lifetime, and valid nbf/iat, with 60 s of clock skew", async () => {
    const n = now();
    const rejected: [string, Record<string, number | undefined>][] = [
      ["no exp", { iat: n }],
      ["no iat", { exp: n + 600 }],
      ["expired beyond the skew", { iat: n - 3600, exp: n - 120 }],
      ["not yet valid (nbf)", { iat: n, exp: n + 600, nbf: n + 600 }],
      ["issued in the future", { iat: n + 600, exp: n + 1200 }],
      ["lifetime over 7 days", { iat: n, exp: n + 8 * 86_400 }],
      ["older than 7 days", { iat: n - 8 * 86_400, exp: n + 600 }],
    ];
    for (const [why, claims] of rejected) {
      const r = await feedWith(await token(claims));
      expect(r.status, why).toBe(401);
      expect((await expectErrorShape(r)).error.field, why).toBe("authorization");
    }
    // Within the clock-skew allowance: expired 20 s ago, issued 20 s "in the future", nbf 20 s ahead.
    for (const claims of [{ iat: n - 600, exp: n - 20 }, { iat: n + 20, exp: n + 600 }, { iat: n, exp: n + 600, nbf: n + 20 }]) {
      const r = await feedWith(await token(claims));
      expect(r.status, JSON.stringify(claims)).not.toBe(401);
      await r.arrayBuffer();
    }
  });
});
