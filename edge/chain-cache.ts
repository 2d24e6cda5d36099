import type { FeedResponse } from "../shared/contract.ts";
import type { CachedPayload } from "./edge-cache.ts";

// The user's ranked chain at the edge (issue 13, "beyond a key cache"): every cursor page is a new cache
// key, so a per-page cache misses every continuation page once. Instead the edge asks the origin for a
// page *and the pages after it* (`ahead`, origin/feed-service.ts `chainPages`): slices of the same ranked
// chain, each with the cursor of the page after it. The edge serves the first and stores the others under
// the cache keys their cursors will be requested with, so the continuation pages of a chain are hits.
//
// The contract holds: the pages are consecutive slices of one chain, so no video repeats across them
// (the origin's rule); each carries its own `next_cursor`, which the origin accepts when the edge copy has
// expired. The origin sends pages ahead from chains stored in Redis (levels 0, 1, 3), and a page served
// from this store carries the level of the page it came with (the edge still raises it to 4/5 from its own
// routing). Limited (level 3) pages are kept only as long as the page they came with (edge/cached-read.ts),
// so the client's "limited" banner follows the origin's state within a first page's TTL.

/** Items the edge asks ahead for in total, and the most pages ahead (origin/feed-service.ts caps it too). */
export const CHAIN_WINDOW = { items: 100, maxPagesAhead: 9 } as const;

/** Pages to ask ahead for a page of `count` items: ceil(items / count) − 1, at most maxPagesAhead. */
export function pagesAhead(count: number): number {
  return Math.min(CHAIN_WINDOW.maxPagesAhead, Math.max(0, Math.ceil(CHAIN_WINDOW.items / count) - 1));
}

/** An origin feed response with the pages sent ahead of it (internal only; the edge strips `ahead`). */
export type FeedWindow = FeedResponse & { ahead?: FeedResponse[] };

export interface SplitWindow {
  /** The requested page, as the client sees it (no `ahead`). */
  page: CachedPayload;
  /** The pages ahead, each under the cache key its cursor will be requested with, with its `limited` flag. */
  ahead: { key: string; payload: CachedPayload; limited: boolean }[];
}

/**
 * Split an origin payload into the page and the pages ahead. `keyFor(cursor)` is the cache key of the page
 * requested with `cursor`. Page k+1 is stored under page k's `next_cursor`; a page without one ends the
 * window. Anything that is not a 200 JSON window is returned unchanged with no pages ahead.
 */
export function splitWindow(p: CachedPayload, keyFor: (cursor: string) => string): SplitWindow {
  if (p.status !== 200 || !p.body.includes('"ahead"')) return { page: p, ahead: [] };
  let w: FeedWindow;
  try {
    w = JSON.parse(p.body) as FeedWindow;
  } catch {
    return { page: p, ahead: [] };
  }
  const { ahead = [], ...first } = w;
  const page = { ...p, body: JSON.stringify(first) };
  const out: SplitWindow["ahead"] = [];
  let cursor = first.next_cursor;
  for (const next of ahead) {
    if (!cursor) break;
    out.push({ key: keyFor(cursor), payload: { status: 200, body: JSON.stringify(next), headers: { "content-type": "application/json" } }, limited: next.limited });
    cursor = next.next_cursor;
  }
  return { page, ahead: out };
}
