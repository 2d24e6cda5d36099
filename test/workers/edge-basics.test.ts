import { env } from "cloudflare:workers";
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { mintSessionToken, sessionFromHeader } from "../../shared/auth.ts";
import { app } from "../../edge/app.ts";
import type { EdgeBindings } from "../../edge/env.ts";
import { setForcedLevel } from "../../edge/forced-levels.ts";
import { KV } from "../../edge/kv-keys.ts";
import { edgeStats } from "../../edge/stats.ts";
import { decodeCursor, encodeCursor } from "../../origin/cursor.ts";

// Runs inside workerd: auth, validation and cursors use WebCrypto exactly as in production.
const e = env as unknown as Record<string, string>;

describe("edge inside workerd", () => {
  it("mints and verifies HS256 session tokens", async () => {
    const t = await mintSessionToken(e.SESSION_SECRET, "u42", "eu");
    expect(await sessionFromHeader(`Bearer ${t}`, e.SESSION_SECRET)).toEqual({ userId: "u42", homeRegion: "eu" });
    await expect(sessionFromHeader(`Bearer ${t}`, "another-secret-0123456789")).rejects.toMatchObject({ status: 401 });
    const expired = await mintSessionToken(e.SESSION_SECRET, "u42", "eu", -120); // past the 60 s clock skew
    await expect(sessionFromHeader(`Bearer ${expired}`, e.SESSION_SECRET)).rejects.toMatchObject({ status: 401 });
  });

  it("rejects bad feed input with 4xx and the error shape, never 5xx", async () => {
    for (const q of ["count=0", "count=51", "count=abc", "region=mars", "cursor=%00%01"]) {
      const res = await app.request(`/v1/feed?${q}`, {}, env);
      expect(res.status, q).toBe(400);
      const body = (await res.json()) as { error: { code: string; field?: string } };
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.field).toBeTruthy();
      expect(res.headers.get("x-request-id")).toBeTruthy();
    }
    const bad = await app.request("/v1/feed", { headers: { authorization: "Bearer nope" } }, env);
    expect(bad.status).toBe(401);
  });

  it("geo (request.cf) picks the region of anonymous reads: trending and the emergency page", async () => {
    const geo = (path: string, cf: { country: string; continent: string }) => SELF.fetch(`http://edge${path}`, { cf } as RequestInit);
    expect(((await (await geo("/v1/trending", { country: "DE", continent: "EU" })).json()) as { region: string }).region).toBe("eu");
    expect(((await (await geo("/v1/trending", { country: "JP", continent: "AS" })).json()) as { region: string }).region).toBe("apac");
    expect((await SELF.fetch("http://edge/emergency?region=mars")).status).toBe(400);
    // The emergency page of the reader's region (KV, written by the pre-warm), not always us's.
    const kv = (env as unknown as EdgeBindings).FYP_KV;
    for (const r of ["us", "eu", "apac"]) await kv.put(KV.emergencyHtml(r as "us"), `<p id=page>${r} page</p>`);
    expect(await (await geo("/emergency", { country: "DE", continent: "EU" })).text()).toContain("eu page");
    expect(await (await geo("/emergency", { country: "JP", continent: "AS" })).text()).toContain("apac page");
    expect(await (await geo("/emergency", { country: "US", continent: "NA" })).text()).toContain("us page");
  });

  it("geo (request.cf) picks the region of video metadata reads: a region forced to 5 serves its own readers nothing", async () => {
    // eu forced to level 5: an eu reader's route has no region to try (no origin call is made, the edge's
    // origin-error count stays put); were the read routed by anything but the reader's geo, it would try
    // the (unreachable) origins of this config and count their errors.
    const kv = (env as unknown as EdgeBindings).FYP_KV;
    await setForcedLevel(kv, "eu", 5);
    try {
      const before = edgeStats.originErrors;
      const res = await SELF.fetch("http://edge/v1/videos/v9300001", { cf: { country: "DE", continent: "EU" } } as RequestInit);
      expect(res.status).toBe(503);
      expect(edgeStats.originErrors).toBe(before);
    } finally {
      await setForcedLevel(kv, "eu", null);
    }
  });

  it("signs cursors so a tampered or foreign one is a 400", async () => {
    const c = await encodeCursor("k-0123456789", { chain: "abc", offset: 20, user: "7" });
    expect(await decodeCursor("k-0123456789", c, "7")).toEqual({ chain: "abc", offset: 20, user: "7" });
    await expect(decodeCursor("k-0123456789", c, "8")).rejects.toMatchObject({ status: 400, field: "cursor" });
    await expect(decodeCursor("k-0123456789", c.slice(0, -2) + "AA", "7")).rejects.toMatchObject({ status: 400 });
  });
});
