import { IsolateCache, stringBytes } from "./isolate-cache.ts";

// Tier-2 edge cache: an isolate-memory tier (bounded LRU, a few seconds) in front of the Workers Cache
// API, with stale-while-revalidate. The Cache API only knows max-age, so an entry is stored for ttl+stale
// seconds with its write time in a header; we decide fresh vs stale ourselves, from the same write time
// in both tiers (a memory hit is exactly as fresh as the Cache API entry it copies).

export interface CachedPayload {
  status: number;
  body: string;
  headers: Record<string, string>;
}
/** Where a hit came from: this isolate's memory, the PoP's Cache API, or the pushed hot pool. */
export type CacheTier = "memory" | "cache" | "pool";
export interface CacheHit {
  payload: CachedPayload;
  ageS: number;
  fresh: boolean;
  tier: CacheTier;
}

/**
 * Memory tier bounds. ttlMs bounds how long an isolate serves its copy without asking the Cache API again:
 * a delete (a creator's edit, edge/video-write-route.ts) made in another isolate of the PoP shows here
 * within that time; the Cache API round trip it saves is the largest cost of a hit (issue 13).
 */
export const MEMORY_TIER = { maxEntries: 5000, maxBytes: 32 * 1024 * 1024, maxEntryBytes: 1024 * 1024, ttlMs: 5000 } as const;
interface MemoryEntry {
  payload: CachedPayload;
  storedAt: number;
  /** Fresh seconds the entry was stored with (a chain page ahead lives longer than a first page). */
  ttlS: number;
}
const memory = new IsolateCache<MemoryEntry>(MEMORY_TIER);
/** Memory-tier counters and size, for /v1/status and tests. */
export const memoryTierStats = () => ({ entries: memory.size, bytes: memory.bytes, hits: memory.hits, misses: memory.misses });
/** Empty this isolate's memory tier (tests). */
export const clearMemoryTier = () => memory.clear();

const STORED_AT = "x-fyp-stored-at";
const FRESH_S = "x-fyp-fresh-s";
// Cache API keys are URLs of the zone the edge is deployed on (the Cache API stores nothing on
// *.workers.dev, and keys of another hostname could collide with a real page): EDGE_HOSTNAME, else the
// host the request came in on. Set once per request by the app's first middleware.
let cacheHost = "localhost";
/** Hostname of the edge's zone route used in cache keys (e.g. "fyp.example.com"). */
export function setCacheHost(host: string): void {
  cacheHost = host;
}
/** The Cache API URL of a key: `https://<zone host>/__fyp-cache/<key>`. */
export const keyUrl = (key: string) => `https://${cacheHost}/__fyp-cache/${encodeURI(key)}`;

function cache(): Cache | null {
  // caches.default exists in workerd; absent in plain Node (unit tests of callers still work).
  const c = (globalThis as unknown as { caches?: { default?: Cache } }).caches;
  return c?.default ?? null;
}

function remember(key: string, e: MemoryEntry, maxAgeS: number, now: number): void {
  const bytes = stringBytes(e.payload.body) + 256;
  memory.set(key, e, bytes, Math.min(now + MEMORY_TIER.ttlMs, e.storedAt + maxAgeS * 1000), now);
}

const hitOf = (e: MemoryEntry, now: number, tier: CacheTier): CacheHit => {
  const ageS = Math.max(0, (now - e.storedAt) / 1000);
  return { payload: e.payload, ageS, fresh: ageS < e.ttlS, tier };
};

/** The memory tier's entry for `key` (no Cache API lookup); null when this isolate holds none. */
export function memoryGet(key: string, now = Date.now()): CacheHit | null {
  const m = memory.get(key, now);
  return m ? hitOf(m, now, "memory") : null;
}

/**
 * The entry for `key`; null when neither tier holds it. Fresh while younger than the ttl it was stored
 * with (`ttlS` is used for entries stored without one).
 */
export async function cacheGet(key: string, ttlS: number, now = Date.now()): Promise<CacheHit | null> {
  const m = memory.get(key, now);
  if (m) return hitOf(m, now, "memory");
  const c = cache();
  if (!c) return null;
  const res = await c.match(keyUrl(key));
  if (!res) return null;
  const storedAt = Number(res.headers.get(STORED_AT) ?? 0);
  const maxAgeS = Number(/max-age=(\d+)/.exec(res.headers.get("cache-control") ?? "")?.[1] ?? 0);
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k !== STORED_AT && k !== FRESH_S && k !== "cache-control" && k !== "content-length") headers[k] = v;
  });
  const e = { payload: { status: res.status, body: await res.text(), headers }, storedAt, ttlS: Number(res.headers.get(FRESH_S) ?? ttlS) };
  remember(key, e, maxAgeS, now);
  return hitOf(e, now, "cache");
}

/**
 * Store `p` for ttlS fresh + staleS stale seconds. The memory tier holds it at once (before the Cache API
 * write lands), so a burst right behind the request that fetched it is answered from memory.
 */
export async function cachePut(key: string, p: CachedPayload, ttlS: number, staleS: number, now = Date.now()): Promise<void> {
  const maxAgeS = Math.ceil(ttlS + staleS);
  remember(key, { payload: p, storedAt: now, ttlS }, maxAgeS, now);
  const c = cache();
  if (!c) return;
  const headers = new Headers(p.headers);
  headers.set(STORED_AT, String(now));
  headers.set(FRESH_S, String(ttlS));
  headers.set("cache-control", `public, max-age=${maxAgeS}`);
  await c.put(keyUrl(key), new Response(p.body, { status: p.status, headers }));
}

/**
 * Keep a copy made elsewhere (the pushed hot pool) in this isolate's memory tier: written at `storedAt`,
 * fresh for ttlS, kept at most maxAgeS from storedAt (and MEMORY_TIER.ttlMs from now).
 */
export function rememberCopy(key: string, p: CachedPayload, storedAt: number, ttlS: number, maxAgeS: number, now = Date.now()): void {
  remember(key, { payload: p, storedAt, ttlS }, maxAgeS, now);
}

// Deletions this isolate made, so copies older than the delete (the pushed pool) are not served after it.
const tombstones = new IsolateCache<number>({ maxEntries: 10_000, maxBytes: 2 * 1024 * 1024 });
const TOMBSTONE_MS = 15 * 60_000;
/** When this isolate last deleted `key` (ms since epoch), if within the last 15 minutes. */
export const deletedAt = (key: string, now = Date.now()): number | undefined => tombstones.get(key, now);

/** Forget `key` in this isolate's memory and in the PoP's Cache API (other isolates: within MEMORY_TIER.ttlMs). */
export async function cacheDelete(key: string, now = Date.now()): Promise<void> {
  memory.delete(key);
  tombstones.set(key, now, key.length * 2 + 64, now + TOMBSTONE_MS, now);
  await cache()?.delete(keyUrl(key));
}
