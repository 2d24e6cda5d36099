import type { FeedItem } from "../shared/contract.ts";
import type { ItemOrigin } from "../shared/client/feed-state.ts";

// One video card of the feed. Built with DOM APIs and textContent only (captions are user content), so
// nothing from the API is ever parsed as HTML.

const fmt = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** A stable colour per video: the media host is not reachable in local runs, so the poster must stand alone. */
function hue(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface CardHandlers {
  /** False for anonymous visitors: events need a session, so the button explains instead of acting. */
  canLike: boolean;
  onLike(item: FeedItem, liked: boolean): void;
}

export function renderCard(item: FeedItem, origin: ItemOrigin, h: CardHandlers): HTMLElement {
  const card = el("article", "card");
  card.dataset.videoId = item.video_id;
  card.dataset.source = origin;
  card.id = `card-${item.video_id}`;

  const poster = el("a", "poster");
  poster.href = item.video_url;
  poster.style.setProperty("--h", String(hue(item.video_id)));
  const img = el("img", "");
  img.alt = "";
  img.loading = "lazy";
  img.src = item.thumbnail_url;
  img.addEventListener("error", () => img.remove(), { once: true });
  poster.append(img, el("span", "duration", `${Math.round(item.duration_ms / 1000)}s`));

  const body = el("div", "card-body");
  const caption = el("p", "caption", item.caption);
  const meta = el("p", "meta");
  meta.append(el("span", "author", `@${item.author_id}`), el("span", "views", `${fmt.format(item.stats.views)} views`));
  const badges = el("p", "badges");
  badges.append(el("span", `badge reason reason-${item.reason}`, item.reason), el("span", "badge score", `score ${item.score.toFixed(3)}`));
  if (origin === "t1-cache") badges.append(el("span", "badge cached", "cached"));

  const like = el("button", "like");
  like.type = "button";
  if (!h.canLike) {
    like.disabled = true;
    like.title = "Sign in to like videos";
  }
  const likes = el("span", "likes", fmt.format(item.stats.likes));
  let liked = false;
  const paint = () => {
    like.setAttribute("aria-pressed", String(liked));
    like.firstChild!.textContent = liked ? "♥ Liked" : "♡ Like";
    likes.textContent = fmt.format(item.stats.likes + (liked ? 1 : 0));
  };
  like.append(document.createTextNode(""), " ", likes);
  like.addEventListener("click", () => {
    liked = !liked;
    paint();
    h.onLike(item, liked);
  });
  paint();

  body.append(caption, meta, badges, like);
  card.append(poster, body);
  return card;
}
