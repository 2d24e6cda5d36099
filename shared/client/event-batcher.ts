import type { FeedEvent } from "../contract.ts";
import type { SendOutcome } from "./api-client.ts";
import { type EventQueueStore, MemoryEventQueueStore } from "./event-queue-store.ts";

// Batches interaction events (view/like/skip…) into POST /v1/events. The one rule: an event leaves the
// queue only when the server acknowledged it with a 202. Everything else — network errors, timeouts,
// 503 (queue not durable), 429, 401 — keeps it queued (and persisted) for a later try; resending is safe
// because each event carries an idempotency key fixed when it was tracked. The only events ever taken
// out without a 202 are ones the server rejected individually as invalid (4xx): retrying those can
// never succeed, so they move to a dead-letter list that the page can show, rather than block the queue.

/** The contract's cap on events per request. */
export const MAX_EVENTS_PER_REQUEST = 100;

export type TrackInput = Omit<FeedEvent, "ts" | "idempotency_key"> & { ts?: string };

export interface BatcherStats {
  /** Tracked, not yet acknowledged (including in flight). */
  pending: number;
  inFlight: number;
  acknowledged: number;
  /** Consecutive failed tries; 0 after a 202. */
  failures: number;
  deadLetters: number;
  lastError: string | null;
}

export interface EventBatcherOptions {
  send: (events: readonly FeedEvent[], opts: { keepalive: boolean }) => Promise<SendOutcome>;
  /** Persistence of unacknowledged events (default: memory only). */
  store?: EventQueueStore;
  /** Flush as soon as this many events wait (default 10). */
  maxBatch?: number;
  /** …or this long after the first one was tracked (default 5 s). */
  flushMs?: number;
  /** Backoff after the n-th consecutive failure (default 1, 2, 4 … 30 s, ±20%). */
  backoffMs?: (failures: number) => number;
  newKey?: () => string;
  now?: () => Date;
  onChange?: (stats: BatcherStats) => void;
}

export function defaultBackoffMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class EventBatcher {
  #o: Required<Omit<EventBatcherOptions, "onChange">> & Pick<EventBatcherOptions, "onChange">;
  /** Unacknowledged events in tracking order; the persisted state. */
  #unacked: FeedEvent[];
  /** Keys of events currently in a request (they stay in #unacked until the 202). */
  #sending = new Set<string>();
  #dead: FeedEvent[] = [];
  #acknowledged = 0;
  #failures = 0;
  #lastError: string | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flushing: Promise<void> | null = null;
  #disposed = false;

  constructor(opts: EventBatcherOptions) {
    this.#o = {
      store: new MemoryEventQueueStore(),
      maxBatch: 10,
      flushMs: 5000,
      backoffMs: (n) => defaultBackoffMs(n),
      newKey: () => `c-${crypto.randomUUID()}`,
      now: () => new Date(),
      ...opts,
    };
    // Events a previous page left unacknowledged go out first (same keys, so no double counting).
    this.#unacked = this.#o.store.load();
    if (this.#unacked.length) this.#schedule(0);
  }

  /** Queues one event (ts and idempotency key assigned now) and returns it as it will be sent. */
  track(input: TrackInput): FeedEvent {
    if (this.#disposed) throw new Error("EventBatcher disposed");
    const ev = { ...input, ts: input.ts ?? this.#o.now().toISOString(), idempotency_key: this.#o.newKey() } as FeedEvent;
    this.#unacked.push(ev);
    this.#persist();
    // While failing, the backoff timer decides when to try again: a full batch must not hammer the edge.
    if (this.#failures === 0 && this.#waiting().length >= this.#o.maxBatch) void this.flush();
    else if (!this.#timer) this.#schedule(this.#failures ? this.#o.backoffMs(this.#failures) : this.#o.flushMs);
    this.#changed();
    return ev;
  }

  stats(): BatcherStats {
    return {
      pending: this.#unacked.length, inFlight: this.#sending.size, acknowledged: this.#acknowledged,
      failures: this.#failures, deadLetters: this.#dead.length, lastError: this.#lastError,
    };
  }

  /** Events the server rejected as invalid (never retried, kept for inspection). */
  deadLetters(): FeedEvent[] {
    return [...this.#dead];
  }

  /** Sends everything waiting, one request at a time; resolves when the queue is empty or a try failed. */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    this.#clearTimer();
    this.#flushing = (async () => {
      for (;;) {
        const batch = this.#waiting().slice(0, MAX_EVENTS_PER_REQUEST);
        if (batch.length === 0 || this.#disposed) return;
        if (!(await this.#deliver(batch, false))) return;
      }
    })().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  /**
   * pagehide / visibility hidden: fire keepalive requests for everything not already in flight and
   * return without waiting. The queue stays persisted until the 202s arrive, so if the page dies first
   * the next load sends the same events again (the idempotency keys make that harmless).
   */
  flushOnExit(): void {
    this.#persist();
    this.#clearTimer();
    const waiting = this.#waiting();
    for (let i = 0; i < waiting.length; i += MAX_EVENTS_PER_REQUEST) {
      void this.#deliver(waiting.slice(i, i + MAX_EVENTS_PER_REQUEST), true);
    }
  }

  dispose(): void {
    this.#disposed = true;
    this.#clearTimer();
  }

  #waiting(): FeedEvent[] {
    return this.#unacked.filter((e) => !this.#sending.has(e.idempotency_key));
  }

  /** Sends one batch; true when every event in it was settled (acknowledged or dead-lettered). */
  async #deliver(batch: FeedEvent[], keepalive: boolean): Promise<boolean> {
    for (const e of batch) this.#sending.add(e.idempotency_key);
    this.#changed();
    let out: SendOutcome;
    try {
      out = await this.#o.send(batch, { keepalive });
    } catch (e) {
      out = { kind: "retry", status: 0, retryAfterMs: null, error: (e as Error).message };
    } finally {
      for (const e of batch) this.#sending.delete(e.idempotency_key);
    }
    if (out.kind === "accepted") {
      this.#settle(batch, false);
      return true;
    }
    if (out.kind === "rejected") {
      if (batch.length === 1) {
        this.#lastError = out.error;
        this.#settle(batch, true);
        return true;
      }
      // One bad event must not sink its neighbours: split until the offender stands alone.
      const mid = Math.ceil(batch.length / 2);
      return (await this.#deliver(batch.slice(0, mid), keepalive)) && this.#deliver(batch.slice(mid), keepalive);
    }
    this.#failures++;
    this.#lastError = out.error;
    const wait = Math.max(out.kind === "retry" ? (out.retryAfterMs ?? 0) : 0, this.#o.backoffMs(this.#failures));
    this.#schedule(wait);
    this.#changed();
    return false;
  }

  #settle(batch: readonly FeedEvent[], dead: boolean): void {
    const keys = new Set(batch.map((e) => e.idempotency_key));
    this.#unacked = this.#unacked.filter((e) => !keys.has(e.idempotency_key));
    if (dead) this.#dead.push(...batch);
    else {
      this.#acknowledged += batch.length;
      this.#failures = 0;
      this.#lastError = null;
    }
    this.#persist();
    this.#changed();
  }

  #schedule(ms: number): void {
    this.#clearTimer();
    if (this.#disposed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #persist(): void {
    this.#o.store.save(this.#unacked);
  }

  #changed(): void {
    this.#o.onChange?.(this.stats());
  }
}
