import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { AdminClient } from "../../shared/client/admin-client.ts";
import { readTokenClaims, tokenFromUrl } from "../../shared/client/session-token.ts";
import { sampleOf, StatusHistory } from "../../shared/client/status-history.ts";
import { flatten, statusView } from "../../shared/client/status-view.ts";

// Ops-page logic (status normalisation, history window, admin calls) and the client's token reading,
// against real tokens from shared/auth.ts and a real HTTP server.

const full = {
  generated_at: "2026-01-01T00:00:00.000Z",
  regions: {
    us: { degradation_level: 3, forced_level: 3, serving_from: "us", origin: { reachable: true, latency_ms: 12, status: "degraded", breakers: { ranking: { state: "closed", gauge: 0 } }, checks: { db: "ok" } } },
    eu: {
      degradation_level: 4, forced_level: null, serving_from: "us", origin: { reachable: false, latency_ms: 800, error: "timeout" },
      reads: [{ region: "us", share: 0.45, level: 4 }, { region: "apac", share: 0.45, level: 4 }, { region: "eu", share: 0.1, level: 0 }, { region: 7 }],
    },
  },
  region_health: {
    regions: { us: { state: "healthy", health: "healthy", drained: false, weight: 1, share: 0.5, consecutiveFailures: 0, lastError: null }, apac: { state: "drained", drained: true, weight: 0, share: 0 } },
    incidents: [{ id: "i1", region: "eu", status: "open", opened_at: 1 }], events: [{ at: 1, region: "eu", from: "healthy", to: "removed", weight: 0, reason: "3 failures" }],
  },
  edge: { cache: { hit: 3, miss: 1, stale: 0, coalesced: 0, hit_rate: 0.75 } },
};

describe("statusView", () => {
  it("normalises the full payload and keeps the origin's own keys", () => {
    const v = statusView(full);
    expect(v.regions.map((r) => r.region)).toEqual(["us", "eu", "apac"]);
    expect(v.regions[0]).toMatchObject({ level: 3, forcedLevel: 3, reachable: true, latencyMs: 12, health: { state: "healthy", share: 0.5 } });
    expect(v.regions[1]).toMatchObject({ level: 4, forcedLevel: null, reachable: false, health: null });
    expect(v.regions[1].reads).toEqual([{ region: "us", share: 0.45, level: 4 }, { region: "apac", share: 0.45, level: 4 }, { region: "eu", share: 0.1, level: 0 }]);
    expect(v.regions[0].reads).toEqual([]); // not reported (an older edge): nothing, not an error
    expect(v.regions[2]).toMatchObject({ level: null, health: { state: "drained", drained: true } });
    expect(v).toMatchObject({ hitRate: 0.75, healthError: null });
    expect(v.incidents).toHaveLength(1);
    expect(flatten(v.regions[0].origin)).toContainEqual(["breakers.ranking.state", "closed"]);
  });

  it("survives partial and malformed payloads", () => {
    for (const raw of [null, 42, "x", [], {}, { regions: [] }, { regions: { us: null } }, { region_health: { error: "not bound" } }]) {
      expect(() => statusView(raw)).not.toThrow();
    }
    expect(statusView({ region_health: { error: "not bound" } }).healthError).toBe("not bound");
    expect(flatten({ a: [1, 2], b: { c: { d: { e: 1 } } }, n: null })).toEqual([["a", "1, 2"], ["b.c.d", '{"e":1}'], ["n", "null"]]);
    expect(flatten({ p99: 184.31951234 })).toEqual([["p99", "184.32"]]);
  });
});

describe("StatusHistory", () => {
  it("keeps a sliding window and turns an unreachable origin into a gap, not a latency", () => {
    const h = new StatusHistory(10_000);
    const v = statusView(full);
    for (let t = 0; t <= 20_000; t += 2_000) h.add(sampleOf(v, t));
    expect(h.size).toBe(6); // 10 s window at 2 s steps, inclusive
    expect(h.series("level", "us").map((p) => p[1])).toEqual([3, 3, 3, 3, 3, 3]);
    expect(h.series("latencyMs", "eu").every((p) => p[1] === null)).toBe(true);
    expect(h.regions()).toEqual(["us", "eu", "apac"]);
    expect(h.span(20_000)).toBe(10_000); // capped at the window
    expect(new StatusHistory().span(5_000)).toBe(30_000); // an empty history still draws a sane axis
  });
});

describe("AdminClient", () => {
  let server: ReturnType<typeof createServer>;
  let base = "";
  const got: Array<{ url: string; auth?: string; body: string }> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        got.push({ url: req.url!, auth: req.headers.authorization, body });
        const ok = req.url === "/v1/status" || req.headers.authorization === "Bearer adm";
        res.writeHead(ok ? 200 : 403, { "content-type": "application/json" });
        res.end(JSON.stringify(req.url === "/v1/status" ? full : ok ? { ok: true } : { error: { code: "forbidden", message: "no" } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("sends the admin calls of DESIGN §2 with the bearer token and reports failures as results", async () => {
    let token: string | null = "adm";
    const c = new AdminClient({ baseUrl: base, token: () => token });
    expect(statusView(await c.status()).regions).toHaveLength(3);
    expect(await c.forceLevel("us", 3)).toMatchObject({ ok: true, status: 200 });
    await c.forceLevel("us", null);
    await c.drain("eu");
    await c.restore("eu");
    await c.prewarm();
    expect(got.slice(1).map((g) => [g.url, g.body])).toEqual([
      ["/v1/admin/degradation", '{"region":"us","level":3}'],
      ["/v1/admin/degradation", '{"region":"us","level":null}'],
      ["/v1/admin/regions/eu/drain", ""],
      ["/v1/admin/regions/eu/restore", ""],
      ["/v1/admin/prewarm", ""],
    ]);
    token = "wrong";
    expect(await c.prewarm()).toMatchObject({ ok: false, status: 403, body: { error: { code: "forbidden" } } });
  });
});

describe("session token on the client", () => {
  it("reads user id and home region from a real session token; rejects junk", async () => {
    const t = await mintSessionToken("s3cret-s3cret-s3cret", "u42", "eu", 60);
    expect(readTokenClaims(t)).toMatchObject({ userId: "u42", region: "eu" });
    expect(readTokenClaims("not-a-token")).toBeNull();
    expect(readTokenClaims("a.b.c")).toBeNull();
    expect(readTokenClaims(null)).toBeNull();
    expect(tokenFromUrl(`http://x/#token=${t}`)).toBe(t);
    expect(tokenFromUrl("http://x/?token=abc")).toBe("abc");
    expect(tokenFromUrl("http://x/")).toBeNull();
  });
});
