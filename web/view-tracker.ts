// Turns card visibility into interaction events: a card that stayed (mostly) on screen for at least
// MIN_VIEW_MS is a "view" with its watch time; one that was scrolled past upward faster than that is a
// "skip". A card that merely peeked in at the bottom and went back down is neither — the user never
// looked at it. Visibility comes from IntersectionObserver, so there is no scroll-handler polling.

export const MIN_VIEW_MS = 1000;
/** Share of a card that must be visible to count as "on screen". */
const VISIBLE_RATIO = 0.6;

export interface ViewTrackerHandlers {
  onView(videoId: string, watchMs: number): void;
  onSkip(videoId: string, watchMs: number): void;
}

export class ViewTracker {
  #h: ViewTrackerHandlers;
  #since = new Map<string, number>();
  #observer: IntersectionObserver;
  #now: () => number;

  constructor(h: ViewTrackerHandlers, now: () => number = () => performance.now()) {
    this.#h = h;
    this.#now = now;
    this.#observer = new IntersectionObserver((entries) => this.#onEntries(entries), { threshold: [0, VISIBLE_RATIO] });
  }

  observe(card: HTMLElement): void {
    this.#observer.observe(card);
  }

  #onEntries(entries: IntersectionObserverEntry[]): void {
    const now = this.#now();
    for (const e of entries) {
      const id = (e.target as HTMLElement).dataset.videoId;
      if (!id) continue;
      const visible = e.isIntersecting && e.intersectionRatio >= VISIBLE_RATIO;
      if (visible) {
        if (!this.#since.has(id)) this.#since.set(id, now);
        continue;
      }
      const since = this.#since.get(id);
      if (since === undefined) continue;
      this.#since.delete(id);
      const watchMs = Math.round(now - since);
      if (watchMs >= MIN_VIEW_MS) this.#h.onView(id, watchMs);
      else if (e.boundingClientRect.top < (e.rootBounds?.top ?? 0)) this.#h.onSkip(id, watchMs);
    }
  }

  /** The page is going away or hidden: cards on screen long enough count as viewed now. */
  settleVisible(): void {
    const now = this.#now();
    for (const [id, since] of this.#since) {
      const watchMs = Math.round(now - since);
      if (watchMs >= MIN_VIEW_MS) this.#h.onView(id, watchMs);
      this.#since.set(id, now);
    }
  }

  /** The tab is visible again: restart the clocks, so hidden time never counts as watching. */
  resume(): void {
    const now = this.#now();
    for (const id of this.#since.keys()) this.#since.set(id, now);
  }

  disconnect(): void {
    this.#observer.disconnect();
  }
}
