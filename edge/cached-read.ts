import type { Region } from "../shared/regions.ts";
import { splitWindow } from "./chain-cache.ts";
import { Coalescer } from "./coalescer.ts";
import { type CacheHit, cacheGet, cachePut, type CachedPayload, type CacheTier, memoryGet } from "./edge-cache.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { callOrigin, OriginUnavailable, relayedHeaders } from "./origin-client.ts";
import type { CacheResult } from "./stats.ts";

// One cached, coalesced origin read: edge cache (isolate memory, then the Cache API; fresh → HIT, stale →
// STALE + background refresh), else one origin fetch per key per isolate (waiters → COALESCED), and for
// shared keys one fetch across isolates through the Coalescer Durable Object. A feed read may ask for the
// chain's next pages with its page (edge/chain-cache.ts): they are stored under their cursors' keys.

export interface ReadSpec {
  key: string;
  region: Region;
  path: string;
  ttlS: number;
  staleS: number;
  /** Shared keys (anonymous feed, video metadata) coalesce across isolates via a Durable Object. */
  shared: boolean;
  maxWaitMs: number;
  /** Which statuses may be cached (default: 200). */
  cacheStatuses?: number[];
  headers?: Record<string, string>;
  /** Pages the origin sends ahead (the path asks for them): stored under keyFor(cursor) for ttlS + staleS
   * (a limited page: for this read's own ttlS). */
  window?: { keyFor: (cursor: string) => string; ttlS: number; staleS: number };
}
export interface WaitUntil {
  waitUntil(p: Promise<unknown>): void;
}
export interface ReadResult {
  payload: CachedPayload;
  result: CacheResult;
  /** Which tier answered a HIT/STALE; "origin" for MISS/COALESCED. */
  tier: CacheTier | "origin";
}

const local = new Coalescer<CachedPayload>();
/** An origin read for `key` already in flight in this isolate, joined without a new origin call. */
export function joinInflight(key: string, maxWaitMs: number): Promise<CachedPayload> | null {
  return local.join(key, maxWaitMs);
}
export const coalescerStats = () => ({ leaders: local.leaderCalls, coalesced: local.coalescedCalls, inflight: local.size });

/** How long the Coalescer object keeps a fetched payload for readers arriving after it (ms). */
export const DO_MEMO_MS = 1000;

async function loadFromOrigin(env: EdgeBindings, spec: ReadSpec): Promise<CachedPayload> {
  if (spec.shared && env.COALESCER) {
    const stub = env.COALESCER.get(env.COALESCER.idFromName(spec.key)) as unknown as {
      fetchOnce(region: Region, path: string, memoMs: number, headers?: Record<string, string>): Promise<CachedPayload>;
    };
    const p = await stub.fetchOnce(spec.region, spec.path, DO_MEMO_MS, spec.headers);
    if (p.status >= 500) throw new OriginUnavailable(`origin ${spec.region} answered ${p.status}`);
    return p;
  }
  const res = await callOrigin(edgeConfig(env), spec.region, spec.path, { headers: spec.headers });
  if (res.status >= 500) {
    await res.body?.cancel();
    throw new OriginUnavailable(`origin ${spec.region} answered ${res.status}`);
  }
  return { status: res.status, body: await res.text(), headers: relayedHeaders(res) };
}

async function fetchAndStore(env: EdgeBindings, spec: ReadSpec, ctx: WaitUntil): Promise<CachedPayload> {
  const raw = await loadFromOrigin(env, spec);
  const { page, ahead } = spec.window ? splitWindow(raw, spec.window.keyFor) : { page: raw, ahead: [] };
  // cachePut fills this isolate's memory tier synchronously; the Cache API write finishes after the response.
  if ((spec.cacheStatuses ?? [200]).includes(page.status)) ctx.waitUntil(cachePut(spec.key, page, spec.ttlS, spec.staleS));
  // A limited (level-3) page ahead lives only as long as the page it came with: the banner follows the origin.
  for (const a of ahead) ctx.waitUntil(cachePut(a.key, a.payload, a.limited ? spec.ttlS : spec.window!.ttlS, spec.window!.staleS));
  return page;
}

/**
 * Throws OriginUnavailable/CoalesceTimeout when nothing (not even stale) can be served. `known` is the
 * caller's own cacheGet of spec.key for this request (not looked up twice); undefined = look it up.
 */
export async function cachedRead(env: EdgeBindings, spec: ReadSpec, ctx: WaitUntil, known?: CacheHit | null): Promise<ReadResult> {
  const hit = known === undefined ? await cacheGet(spec.key, spec.ttlS) : known;
  if (hit?.fresh) return { payload: hit.payload, result: "HIT", tier: hit.tier };
  if (hit) {
    // Serve stale now; refresh once in the background (coalesced with any other refresher).
    ctx.waitUntil(local.run(spec.key, () => fetchAndStore(env, spec, ctx), spec.maxWaitMs).catch(() => {}));
    return { payload: hit.payload, result: "STALE", tier: hit.tier };
  }
  // The lookup awaited the Cache API: a fetch of this key may have finished meanwhile. Its page is in this
  // isolate's memory before its in-flight entry goes (fetchAndStore), so look there before leading a new
  // fetch — else a burst whose lookups straddle the first fetch's end would fetch again.
  const late = memoryGet(spec.key);
  if (late?.fresh) return { payload: late.payload, result: "HIT", tier: late.tier };
  const r = await local.run(spec.key, () => fetchAndStore(env, spec, ctx), spec.maxWaitMs);
  return { payload: r.value, result: r.coalesced ? "COALESCED" : "MISS", tier: "origin" };
}
