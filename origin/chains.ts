import type { Redis } from "@upstash/redis/cloudflare";
import { TTL } from "../shared/config.ts";
import type { Reason, Source } from "../shared/contract.ts";
import type { DependencyHealth } from "./dependency-health.ts";

// A feed "chain": one ranked list per first-page request, stored in Redis; cursor pages are slices of it,
// so one cursor chain never shows a video twice. The user's latest chain doubles as the "cached
// recommendations (≤ 1 h)" fallback. Redis failures read as misses (load) or `false` (store), never throw.
export type ChainEntry = [id: string, score: number, reason: Reason];
export interface Chain {
  u: string;
  mv: string | null;
  src: Source;
  at: number;
  items: ChainEntry[];
}

/** A chain of `ids` in their given order (scores 1 → 0 by rank), every item tagged with `src` as its reason. */
export function listChain(u: string, src: "trending" | "following", ids: string[], at: number): Chain {
  const n = ids.length || 1;
  return { u, mv: null, src, at, items: ids.map((id, i) => [id, 1 - i / n, src]) };
}

/** Redis key of a chain (read ahead with the rate limit on a cursor page: origin/feed/read-ahead.ts). */
export const chainKey = (id: string) => `fyp:chain:${id}`;
const lastKey = (user: string) => `fyp:last:${user}`;
export const CACHED_RECS_MAX_AGE_MS = 3_600_000;

/** A chain from its stored JSON (null: absent). */
export const parseChain = (s: string | null): Chain | null => (s ? (JSON.parse(s) as Chain) : null);

export async function loadChain(redis: Redis, id: string, health?: DependencyHealth): Promise<Chain | null> {
  try {
    const get = () => redis.get<string>(chainKey(id));
    return parseChain(health ? await health.observe(get) : await get());
  } catch {
    return null;
  }
}

export async function storeChain(redis: Redis, id: string, chain: Chain, health?: DependencyHealth): Promise<boolean> {
  try {
    const p = redis.pipeline();
    p.set(chainKey(id), JSON.stringify(chain), { ex: TTL.appFeedFallback });
    // Only ranked chains are "recommendations" worth falling back to.
    if (chain.u !== "anon" && chain.src === "origin") p.set(lastKey(chain.u), id, { ex: TTL.appFeedFallback });
    await (health ? health.observe(() => p.exec()) : p.exec());
    return true;
  } catch {
    return false; // without Redis the next page recomputes (deterministically: origin/feed/ranked.ts)
  }
}

/** The user's most recent ranked chain if it is at most `maxAgeMs` old (default 1 h), relabelled as cached. */
export async function cachedRecommendations(redis: Redis, user: string, maxAgeMs = CACHED_RECS_MAX_AGE_MS, now = Date.now()): Promise<Chain | null> {
  try {
    const id = await redis.get<string>(lastKey(user));
    if (!id) return null;
    const chain = await loadChain(redis, id);
    if (!chain || now - chain.at > maxAgeMs) return null;
    return { ...chain, src: "cached", items: chain.items.map(([v, s]) => [v, s, "cached"] as ChainEntry) };
  } catch {
    return null;
  }
}
