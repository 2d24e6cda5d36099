import type { FeedResponse } from "../shared/contract.ts";
import type { CachedPayload } from "./edge-cache.ts";

// Feed bodies on the edge's hit path (issue 13): a hit used to re-parse the cached page and re-serialise
// all of it to change a few top-level fields (source, level, limited). A cached payload object lives in
// the isolate's memory tier for seconds and is served many times, so its parse is kept with it, and the
// items — most of the bytes, never changed by the edge — keep their JSON text; only the small top level
// is serialised per response. Output is byte-for-byte what JSON.stringify of the same feed gives.

interface Parsed {
  feed: FeedResponse;
  itemsJson: string;
}
const parsed = new WeakMap<CachedPayload, Parsed>();
const itemsText = new WeakMap<FeedResponse["items"], string>();

/** The payload's feed as a fresh top-level copy (items shared: never mutate them); parsed once per payload. */
export function parseFeedPayload(p: CachedPayload): FeedResponse {
  let e = parsed.get(p);
  if (!e) {
    const feed = JSON.parse(p.body) as FeedResponse;
    e = { feed, itemsJson: JSON.stringify(feed.items) };
    parsed.set(p, e);
    itemsText.set(feed.items, e.itemsJson);
  }
  return { ...e.feed };
}

/** JSON.stringify(feed), reusing the items' text when they came from parseFeedPayload unchanged. */
export function feedJson(feed: FeedResponse): string {
  const items = itemsText.get(feed.items);
  if (items === undefined) return JSON.stringify(feed);
  const { items: _, ...top } = feed;
  const rest = JSON.stringify(top);
  return rest === "{}" ? `{"items":${items}}` : `{"items":${items},${rest.slice(1)}`;
}
