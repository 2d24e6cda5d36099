import type { FeedItem } from "../contract.ts";

// Tier 1 of the caching tiers (DESIGN §3): the client keeps the last 50 feed items it showed, so a
// reload paints them at once while the network refresh runs behind them. Storage sits behind
// FeedItemStore so the feed logic is tested with the in-memory adapter and the page uses IndexedDB.

export const T1_MAX_ITEMS = 50;

/** What one scope (a signed-in user, or "anon") has cached. */
export interface CachedFeed {
  items: FeedItem[];
  /** Epoch ms of the last save: the reader decides what is too old to show. */
  savedAt: number;
  /** Region and level of the response the items came from (shown in the header before the refresh). */
  region: string | null;
  level: number | null;
}

export interface FeedItemStore {
  /** The cached feed of `scope`, or null. Never throws for a missing or unreadable record. */
  load(scope: string): Promise<CachedFeed | null>;
  /** Appends `items` after what `scope` has (a video already there moves to the end), keeps the last 50. */
  append(scope: string, items: readonly FeedItem[], meta: { region: string | null; level: number | null }, now?: number): Promise<void>;
  clear(scope?: string): Promise<void>;
}

/**
 * The merge both adapters use: newest last, one entry per video (a repeat refreshes its stats and
 * position), at most `max`. Keeping it here makes the adapters pure storage.
 */
export function mergeRecent(prev: readonly FeedItem[], next: readonly FeedItem[], max = T1_MAX_ITEMS): FeedItem[] {
  const incoming = new Set(next.map((i) => i.video_id));
  const merged = [...prev.filter((i) => !incoming.has(i.video_id)), ...dedupe(next)];
  return merged.slice(Math.max(0, merged.length - max));
}

function dedupe(items: readonly FeedItem[]): FeedItem[] {
  const seen = new Set<string>();
  const out: FeedItem[] = [];
  for (let i = items.length - 1; i >= 0; i--) {
    if (seen.has(items[i].video_id)) continue;
    seen.add(items[i].video_id);
    out.push(items[i]);
  }
  return out.reverse();
}

/** In-memory adapter: tests, and the page's fallback when IndexedDB is unavailable (private mode). */
export class MemoryFeedItemStore implements FeedItemStore {
  #byScope = new Map<string, CachedFeed>();

  async load(scope: string): Promise<CachedFeed | null> {
    const c = this.#byScope.get(scope);
    return c ? structuredClone(c) : null;
  }

  async append(scope: string, items: readonly FeedItem[], meta: { region: string | null; level: number | null }, now = Date.now()): Promise<void> {
    const prev = this.#byScope.get(scope)?.items ?? [];
    this.#byScope.set(scope, { items: mergeRecent(prev, structuredClone([...items])), savedAt: now, ...meta });
  }

  async clear(scope?: string): Promise<void> {
    if (scope === undefined) this.#byScope.clear();
    else this.#byScope.delete(scope);
  }
}
