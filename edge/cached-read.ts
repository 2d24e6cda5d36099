import type { Region } from "../shared/regions.ts";
import { Coalescer } from "./coalescer.ts";
import { cacheGet, cachePut, type CachedPayload } from "./edge-cache.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { callOrigin, OriginUnavailable, relayedHeaders } from "./origin-client.ts";
import type { CacheResult } from "./stats.ts";

// One cached, coalesced origin read: edge cache (fresh → HIT, stale → STALE + background refresh),
// else one origin fetch per key per isolate (waiters → COALESCED), and for shared keys one fetch
// across isolates through the Coalescer Durable Object.

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
}
export interface WaitUntil {
  waitUntil(p: Promise<unknown>): void;
}
export interface ReadResult {
  payload: CachedPayload;
  result: CacheResult;
}

const local = new Coalescer<CachedPayload>();
/** An origin read for `key` already in flight in this isolate, joined without a new origin call. */
export function joinInflight(key: string, maxWaitMs: number): Promise<CachedPayload> | null {
  return local.join(key, maxWaitMs);
}
export const coalescerStats = () => ({ leaders: local.leaderCalls, coalesced: local.coalescedCalls, inflight: local.size });

async function loadFromOrigin(env: EdgeBindings, spec: ReadSpec): Promise<CachedPayload> {
  if (spec.shared && env.COALESCER) {
    const stub = env.COALESCER.get(env.COALESCER.idFromName(spec.key)) as unknown as {
      fetchOnce(region: Region, path: string, memoMs: number, headers?: Record<string, string>): Promise<CachedPayload>;
    };
    const p = await stub.fetchOnce(spec.region, spec.path, 1000, spec.headers);
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
  const p = await loadFromOrigin(env, spec);
  if ((spec.cacheStatuses ?? [200]).includes(p.status)) ctx.waitUntil(cachePut(spec.key, p, spec.ttlS, spec.staleS));
  return p;
}

/** Throws OriginUnavailable/CoalesceTimeout when nothing (not even stale) can be served. */
export async function cachedRead(env: EdgeBindings, spec: ReadSpec, ctx: WaitUntil): Promise<ReadResult> {
  const hit = await cacheGet(spec.key, spec.ttlS);
  if (hit?.fresh) return { payload: hit.payload, result: "HIT" };
  if (hit) {
    // Serve stale now; refresh once in the background (coalesced with any other refresher).
    ctx.waitUntil(local.run(spec.key, () => fetchAndStore(env, spec, ctx), spec.maxWaitMs).catch(() => {}));
    return { payload: hit.payload, result: "STALE" };
  }
  const r = await local.run(spec.key, () => fetchAndStore(env, spec, ctx), spec.maxWaitMs);
  return { payload: r.value, result: r.coalesced ? "COALESCED" : "MISS" };
}
