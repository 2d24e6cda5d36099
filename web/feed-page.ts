import { ApiClient } from "../shared/client/api-client.ts";
import { EventBatcher, type BatcherStats } from "../shared/client/event-batcher.ts";
import { StorageEventQueueStore } from "../shared/client/event-queue-store.ts";
import { FeedController } from "../shared/client/feed-controller.ts";
import { type FeedState, showLimitedBanner } from "../shared/client/feed-state.ts";
import { type FeedItemStore, MemoryFeedItemStore } from "../shared/client/feed-store.ts";
import { IndexedDbFeedItemStore } from "../shared/client/idb-feed-store.ts";
import { renderCard } from "./feed-card.ts";
import { bindSignIn, currentSession, dropSession } from "./session.ts";
import { ViewTracker } from "./view-tracker.ts";

// The demo feed client (GET /): wires the DOM-free client pieces (shared/client) to the page —
// cards, infinite scroll, the limited banner, the emergency redirect, and interaction events.

const $ = (id: string) => document.getElementById(id)!;
let session = currentSession();
bindSignIn(session);
const params = new URLSearchParams(location.search);
const regionOverride = params.get("region");

const api = new ApiClient({ baseUrl: location.origin, token: () => session?.token ?? null });
const store: FeedItemStore = typeof indexedDB !== "undefined" ? new IndexedDbFeedItemStore(indexedDB) : new MemoryFeedItemStore();

// Events exist only for a signed-in user (POST /v1/events requires a token).
let batcher = session?.claims
  ? new EventBatcher({
      send: (events, o) => api.sendEvents(events, o),
      store: new StorageEventQueueStore(localStorage, session.claims.userId),
      maxBatch: 10,
      flushMs: 3000,
      onChange: paintEvents,
    })
  : null;

function paintEvents(s: BatcherStats): void {
  const e = $("events-status");
  e.textContent = `events: ${s.acknowledged} sent, ${s.pending} pending${s.failures ? ` (retrying: ${s.lastError ?? "error"})` : ""}`;
  e.dataset.pending = String(s.pending);
}

const tracker = new ViewTracker({
  onView: (video_id, watch_ms) => batcher?.track({ type: "view", video_id, watch_ms }),
  onSkip: (video_id, watch_ms) => batcher?.track({ type: "skip", video_id, watch_ms }),
});

const feedEl = $("feed");
const rendered = new Set<string>();

function paint(s: FeedState): void {
  if (s.phase === "emergency") {
    // Level 5: interactive features are off; the static page is served by the edge from KV.
    batcher?.flushOnExit();
    location.replace(`/emergency${s.region ? `?region=${encodeURIComponent(s.region)}` : ""}`);
    return;
  }
  for (const { item, origin } of s.items) {
    if (rendered.has(item.video_id)) continue;
    rendered.add(item.video_id);
    const card = renderCard(item, origin, {
      canLike: !!batcher,
      onLike: (it, liked) => batcher?.track({ type: liked ? "like" : "unlike", video_id: it.video_id }),
    });
    feedEl.append(card);
    tracker.observe(card);
  }
  $("region").textContent = s.region ?? "–";
  $("level").textContent = s.level === null ? "–" : String(s.level);
  $("level").dataset.level = String(s.level ?? "");
  $("source").textContent = s.source ?? (s.items.length ? "t1-cache" : "–");
  $("limited-banner").hidden = !showLimitedBanner(s);
  document.body.dataset.phase = s.phase;
  const status = $("feed-status");
  status.textContent =
    s.phase === "loading" ? "Loading…"
    : s.phase === "error" ? `Could not load the feed (${s.error}).`
    : s.phase === "end" ? "You're all caught up."
    : "";
  $("retry").hidden = s.phase !== "error";
  $("signin-refused").hidden = !s.notice;
  $("signin-refused").textContent = s.notice ?? "";
}

/** The edge refused the token (401 on the feed): forget it and go on as an anonymous visitor. */
function signOutRefused(): boolean {
  if (!session) return false;
  dropSession();
  session = null;
  batcher?.dispose(); // its queue stays stored for that user's next sign-in
  batcher = null;
  paintUser();
  $("events-status").textContent = "sign in to like and send events";
  ($("signout") as HTMLButtonElement).hidden = true;
  return true;
}

function paintUser(): void {
  const c = session?.claims;
  $("user").textContent = c ? `${c.userId} (${c.region ?? "?"})` : session ? "signing in…" : "anonymous — trending";
}

const feed = new FeedController({
  api,
  store,
  scope: session?.claims?.userId ?? "anon",
  pageSize: 10,
  region: regionOverride,
  onChange: paint,
  onUnauthorized: signOutRefused,
});
paintUser();

// Infinite scroll: a sentinel below the last card; the generous rootMargin starts the next page before
// the user reaches the end. After each page, re-check: a short page may leave the sentinel on screen.
const sentinel = $("sentinel");
let sentinelVisible = false;
new IntersectionObserver(
  (entries) => {
    sentinelVisible = entries.some((e) => e.isIntersecting);
    if (sentinelVisible) void more();
  },
  { rootMargin: "600px 0px" },
).observe(sentinel);

$("retry").addEventListener("click", () => void more());

async function more(): Promise<void> {
  await feed.loadMore();
  if (sentinelVisible && feed.state.phase === "ready") requestAnimationFrame(() => void more());
}

// Leaving or hiding the page: count what is on screen as viewed and hand the queue to keepalive fetches.
addEventListener("pagehide", () => {
  tracker.settleVisible();
  batcher?.flushOnExit();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    tracker.settleVisible();
    batcher?.flushOnExit();
  } else tracker.resume();
});

if (batcher) paintEvents(batcher.stats());
void feed.start().then(() => {
  if (sentinelVisible) void more();
});
