import { afterEach, describe, expect, it, vi } from "vitest";
import { cachedRead } from "../../edge/cached-read.ts";
import { cacheGet, clearMemoryTier } from "../../edge/edge-cache.ts";
import type { EdgeBindings } from "../../edge/env.ts";

// One origin fetch per key however a burst's cache lookups interleave with the fetch (issue 13, viral
// spike): requests whose (slow) Cache API lookup started before the first fetch finished and ended after
// it must take the page the fetch left in memory, not lead a second fetch. The Cache API and the origin
// are stand-ins with fixed delays, so the interleaving is the same on every run.
const env = {
  SESSION_SECRET: "test-session-secret-0123456789abcdef", ADMIN_TOKEN: "test-admin-token-0123456789abcdef", INTERNAL_SECRET: "internal-secret",
  ORIGIN_US_URL: "http://origin-us.test", ORIGIN_EU_URL: "http://origin-eu.test", ORIGIN_APAC_URL: "http://origin-apac.test",
} as unknown as EdgeBindings;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  vi.unstubAllGlobals();
  clearMemoryTier();
});

describe("coalescing against a slow cache lookup", () => {
  it("a burst straddling the first fetch's end makes exactly one origin fetch", async () => {
    // The first lookup answers at once; the others are held until the first read has finished.
    let lookups = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    vi.stubGlobal("caches", { default: { match: async () => (lookups++ === 0 ? undefined : (await gate, undefined)), put: async () => {}, delete: async () => true } });
    let originCalls = 0;
    vi.stubGlobal("fetch", async () => {
      originCalls++;
      await sleep(20);
      return new Response(JSON.stringify({ ok: true }), { status: 200, headers: { "content-type": "application/json" } });
    });
    const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => {}) };
    const spec = { key: "feed/u/42/us/10/first", region: "us" as const, path: "/internal/v1/feed?count=10", ttlS: 15, staleS: 120, shared: false, maxWaitMs: 3000 };
    const first = cachedRead(env, spec, ctx);
    const rest = Array.from({ length: 20 }, () => cachedRead(env, spec, ctx)); // lookups started, held
    expect((await first).result).toBe("MISS"); // the fetch is over and its in-flight slot is gone
    release();
    const results = (await Promise.all(rest)).map((r) => r.result);
    expect(originCalls).toBe(1);
    expect(results.every((r) => r === "HIT")).toBe(true);
  });

  it("keeps pages ahead for the chain TTL, but a limited (level 3) page only as long as the page it came with", async () => {
    const stored = new Map<string, Response>();
    vi.stubGlobal("caches", { default: {
      match: async (k: string) => stored.get(k)?.clone(),
      put: async (k: string, r: Response) => void stored.set(k, r),
      delete: async (k: string) => stored.delete(k),
    } });
    const page = (n: number, level: number, next: string | null) => ({ items: [], next_cursor: next, source: "origin", region: "us", degradation_level: level, limited: level >= 3, model_version: null, generated_at: "2026-11-29T00:00:00.000Z", n });
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ ...page(1, 0, "c1"), ahead: [page(2, 0, "c2"), page(3, 3, "c3")] }), { status: 200, headers: { "content-type": "application/json" } }));
    const waits: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void waits.push(p) };
    const keyFor = (c: string | undefined) => `feed/u/7/us/10/${c ?? "first"}`;
    const r = await cachedRead(env, { key: keyFor(undefined), region: "us", path: "/internal/v1/feed?count=10&ahead=9", ttlS: 15, staleS: 120, shared: false, maxWaitMs: 3000, window: { keyFor, ttlS: 300, staleS: 120 } }, ctx);
    await Promise.all(waits);
    expect(JSON.parse(r.payload.body)).not.toHaveProperty("ahead");
    clearMemoryTier();
    const at = Date.now() + 60_000; // a minute later: past a first page's 15 s, within the chain's 300 s
    expect((await cacheGet(keyFor("c1"), 15, at))?.fresh).toBe(true);
    expect((await cacheGet(keyFor("c2"), 15, at))?.fresh).toBe(false);
    expect(JSON.parse((await cacheGet(keyFor("c2"), 15, at))!.payload.body).limited).toBe(true);
  });
});
