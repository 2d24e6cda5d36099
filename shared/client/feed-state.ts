import type { FeedItem, FeedResponse } from "../contract.ts";

// The feed screen as a pure state machine: what is shown, where the next page comes from, and how the
// degradation level of each response changes the screen (DESIGN §3 "Degradation levels"):
//   level ≥ 3 or `limited` → the "limited functionality" banner (writes are queued server-side);
//   level 5 or source "emergency" → leave for the static emergency page, interactive features are off.
// Kept free of I/O so every transition is unit-tested without a browser.

export type Phase = "idle" | "loading" | "ready" | "end" | "error" | "emergency";

/** Where a shown item came from: the tier-1 cache, or the response's `source`. */
export type ItemOrigin = "t1-cache" | FeedResponse["source"];

export interface ShownItem {
  item: FeedItem;
  origin: ItemOrigin;
}

export interface FeedState {
  phase: Phase;
  items: ShownItem[];
  /** Cursor of the next page; null before the first fresh page and after the last one. */
  cursor: string | null;
  /** Whether a network page has arrived (cached items alone do not count). */
  fresh: boolean;
  region: string | null;
  level: number | null;
  limited: boolean;
  source: FeedResponse["source"] | null;
  modelVersion: string | null;
  error: string | null;
  /** Consecutive pages that brought nothing new (a cursor chain that only repeats is treated as ended). */
  emptyPages: number;
  /** A message the page shows until reload, e.g. "the sign-in token was refused: token expired". */
  notice: string | null;
}

export type FeedAction =
  | { type: "cache-loaded"; items: readonly FeedItem[]; region: string | null; level: number | null }
  | { type: "request" }
  | { type: "page"; res: FeedResponse }
  | { type: "failed"; error: string }
  /** The edge refused the session token (401) and the page dropped it: start over as an anonymous feed. */
  | { type: "signed-out"; reason: string };

export const initialFeedState: FeedState = {
  phase: "idle", items: [], cursor: null, fresh: false, region: null, level: null, limited: false,
  source: null, modelVersion: null, error: null, emptyPages: 0, notice: null,
};

/** The banner DESIGN §3 asks for at level 3 ("limited: true"); a level-4/5 response also qualifies. */
export const showLimitedBanner = (s: FeedState): boolean => s.limited || (s.level ?? 0) >= 3;
/** A response that puts the client on the static emergency page. */
export const isEmergency = (res: Pick<FeedResponse, "source" | "degradation_level">): boolean =>
  res.source === "emergency" || res.degradation_level >= 5;
/** Whether scrolling to the bottom should fetch another page now. */
export const canLoadMore = (s: FeedState): boolean => s.phase === "ready" || s.phase === "idle" || s.phase === "error";

const MAX_EMPTY_PAGES = 3;

function appendNew(shown: readonly ShownItem[], items: readonly FeedItem[], origin: ItemOrigin): { items: ShownItem[]; added: number } {
  // A user never sees the same video twice: the edge promises it within one cursor chain, and the
  // client extends that across the cached items and a restarted chain.
  const seen = new Set(shown.map((s) => s.item.video_id));
  const out = [...shown];
  for (const item of items) {
    if (seen.has(item.video_id)) continue;
    seen.add(item.video_id);
    out.push({ item, origin });
  }
  return { items: out, added: out.length - shown.length };
}

export function reduceFeed(s: FeedState, a: FeedAction): FeedState {
  if (s.phase === "emergency") return s; // terminal: the page is navigating away
  switch (a.type) {
    case "cache-loaded": {
      if (s.fresh) return s; // the network won the race; cached items would only duplicate it
      const { items } = appendNew([], a.items, "t1-cache");
      return { ...s, items, region: s.region ?? a.region, level: s.level ?? a.level };
    }
    case "request":
      return { ...s, phase: "loading", error: null };
    case "page": {
      const r = a.res;
      const base = { ...s, region: r.region, level: r.degradation_level, limited: r.limited, source: r.source, modelVersion: r.model_version, error: null };
      if (isEmergency(r)) return { ...base, phase: "emergency", cursor: null, fresh: true };
      const { items, added } = appendNew(s.items, r.items, r.source);
      const emptyPages = added === 0 ? s.emptyPages + 1 : 0;
      const ended = r.next_cursor === null || emptyPages >= MAX_EMPTY_PAGES;
      return { ...base, items, fresh: true, cursor: r.next_cursor, emptyPages, phase: ended ? "end" : "ready" };
    }
    case "failed":
      return { ...s, phase: "error", error: a.error };
    case "signed-out":
      // The next page starts a new (anonymous) cursor chain; what is shown stays, deduplicated against it.
      return { ...s, phase: "idle", cursor: null, fresh: false, emptyPages: 0, error: null, notice: a.reason };
  }
}
