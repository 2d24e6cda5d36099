// Tier-2 edge cache over the Workers Cache API with stale-while-revalidate. The Cache API only knows
// max-age, so an entry is stored for ttl+stale seconds with its write time in a header; we decide
// fresh vs stale ourselves.

export interface CachedPayload {
  status: number;
  body: string;
  headers: Record<string, string>;
}
export interface CacheHit {
  payload: CachedPayload;
  ageS: number;
  fresh: boolean;
}

const STORED_AT = "x-fyp-stored-at";
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

export async function cacheGet(key: string, ttlS: number, now = Date.now()): Promise<CacheHit | null> {
  const c = cache();
  if (!c) return null;
  const res = await c.match(keyUrl(key));
  if (!res) return null;
  const storedAt = Number(res.headers.get(STORED_AT) ?? 0);
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k !== STORED_AT && k !== "cache-control" && k !== "content-length") headers[k] = v;
  });
  const ageS = Math.max(0, (now - storedAt) / 1000);
  return { payload: { status: res.status, body: await res.text(), headers }, ageS, fresh: ageS < ttlS };
}

export async function cachePut(key: string, p: CachedPayload, ttlS: number, staleS: number, now = Date.now()): Promise<void> {
  const c = cache();
  if (!c) return;
  const headers = new Headers(p.headers);
  headers.set(STORED_AT, String(now));
  headers.set("cache-control", `public, max-age=${Math.ceil(ttlS + staleS)}`);
  await c.put(keyUrl(key), new Response(p.body, { status: p.status, headers }));
}

export async function cacheDelete(key: string): Promise<void> {
  await cache()?.delete(keyUrl(key));
}
