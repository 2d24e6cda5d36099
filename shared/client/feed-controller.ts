import { type FeedRequest, HttpError } from "./api-client.ts";
import type { FeedResponse } from "../contract.ts";
import type { FeedItemStore } from "./feed-store.ts";
import { canLoadMore, type FeedAction, type FeedState, initialFeedState, reduceFeed } from "./feed-state.ts";

// Drives the feed state machine with real I/O: tier-1 cache first (instant paint on reload), then the
// network page behind it, then cursor pages on demand. The page only renders states and calls
// loadMore() when the bottom sentinel becomes visible. A 401 on the feed (a token the edge refuses: bad
// signature, expired, malformed) is never a dead end: with `onUnauthorized` the page drops the token, the
// state carries "the sign-in token was refused: <the edge's message>", and the feed continues anonymously.

/** Cached items older than this are not shown: the DESIGN allows cached recommendations up to 1 h old. */
export const T1_MAX_AGE_MS = 60 * 60 * 1000;

export interface FeedControllerOptions {
  api: { getFeed(req: FeedRequest, signal?: AbortSignal): Promise<FeedResponse> };
  store: FeedItemStore;
  /** Cache scope: the signed-in user id, or "anon" (one user's feed is never shown to another). */
  scope: string;
  pageSize?: number;
  /** Region override (?region=), for local runs; null = geo/home routing at the edge. */
  region?: string | null;
  maxCacheAgeMs?: number;
  now?: () => number;
  onChange?: (s: FeedState, a: FeedAction) => void;
  /**
   * Called on a 401 from the feed; returns true when it dropped the session token (the api's next request
   * is anonymous), and the controller then re-fetches the first page anonymously (cache scope "anon").
   * Absent or false: the 401 is an ordinary failure.
   */
  onUnauthorized?: (err: HttpError) => boolean;
}

/** What the page shows when the edge refuses its session token. */
export const refusedTokenNotice = (err: HttpError): string => `the sign-in token was refused: ${err.detail}`;

export class FeedController {
  #o: FeedControllerOptions;
  #state: FeedState = initialFeedState;
  #abort = new AbortController();
  #loading: Promise<void> | null = null;
  #scope: string;
  #signedOut = false;

  constructor(opts: FeedControllerOptions) {
    this.#o = opts;
    this.#scope = opts.scope;
  }

  get state(): FeedState {
    return this.#state;
  }

  #dispatch(a: FeedAction): void {
    this.#state = reduceFeed(this.#state, a);
    this.#o.onChange?.(this.#state, a);
  }

  /** Paints the tier-1 cache (if fresh enough), then loads the first network page. */
  async start(): Promise<void> {
    const now = this.#o.now ?? Date.now;
    const cached = await this.#o.store.load(this.#scope);
    if (cached && cached.items.length && now() - cached.savedAt <= (this.#o.maxCacheAgeMs ?? T1_MAX_AGE_MS)) {
      this.#dispatch({ type: "cache-loaded", items: cached.items, region: cached.region, level: cached.level });
    }
    await this.loadMore();
  }

  /** Fetches the next page unless one is loading or the feed ended; concurrent calls share one fetch. */
  loadMore(): Promise<void> {
    if (this.#loading) return this.#loading;
    if (!canLoadMore(this.#state)) return Promise.resolve();
    this.#loading = this.#fetchPage().finally(() => {
      this.#loading = null;
    });
    return this.#loading;
  }

  async #fetchPage(): Promise<void> {
    const s = this.#state;
    this.#dispatch({ type: "request" });
    let res: FeedResponse;
    try {
      res = await this.#o.api.getFeed({ count: this.#o.pageSize ?? 10, cursor: s.fresh ? s.cursor : null, region: this.#o.region }, this.#abort.signal);
    } catch (e) {
      if (this.#abort.signal.aborted) return;
      if (e instanceof HttpError && e.status === 401 && !this.#signedOut && this.#o.onUnauthorized?.(e)) {
        this.#signedOut = true; // once: an anonymous 401 is an ordinary failure
        this.#scope = "anon";
        this.#dispatch({ type: "signed-out", reason: refusedTokenNotice(e) });
        return this.#fetchPage();
      }
      this.#dispatch({ type: "failed", error: (e as Error).message ?? String(e) });
      return;
    }
    if (this.#abort.signal.aborted) return;
    this.#dispatch({ type: "page", res });
    if (this.#state.phase === "emergency" || res.items.length === 0) return;
    // Best effort: a cache write failing (quota, private mode) must not fail the page.
    await this.#o.store.append(this.#scope, res.items, { region: res.region, level: res.degradation_level }).catch(() => {});
  }

  /** Stops in-flight requests (sign-out, page teardown). */
  stop(): void {
    this.#abort.abort();
  }
}
