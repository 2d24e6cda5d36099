import type { FeedEvent } from "../contract.ts";

// Where the event batcher keeps events the server has not acknowledged yet, so that a page closed
// mid-flight (or before a keepalive request could finish) re-sends them on the next load. Synchronous on
// purpose: the last save happens inside a pagehide handler, where an async write may never complete.

export interface EventQueueStore {
  load(): FeedEvent[];
  save(events: readonly FeedEvent[]): void;
}

/** The subset of Web Storage (localStorage/sessionStorage) the adapter needs. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class MemoryEventQueueStore implements EventQueueStore {
  #events: FeedEvent[] = [];
  load(): FeedEvent[] {
    return structuredClone(this.#events);
  }
  save(events: readonly FeedEvent[]): void {
    this.#events = structuredClone([...events]);
  }
}

/**
 * Web Storage adapter, one key per user: events are sent with that user's token, so a different user
 * signing in on the same browser must never pick them up.
 */
export class StorageEventQueueStore implements EventQueueStore {
  #storage: KeyValueStorage;
  #key: string;

  constructor(storage: KeyValueStorage, userId: string) {
    this.#storage = storage;
    this.#key = `fyp-events:${userId}`;
  }

  load(): FeedEvent[] {
    try {
      const raw = this.#storage.getItem(this.#key);
      const v: unknown = raw ? JSON.parse(raw) : [];
      return Array.isArray(v) ? (v as FeedEvent[]) : [];
    } catch {
      return [];
    }
  }

  save(events: readonly FeedEvent[]): void {
    try {
      if (events.length === 0) this.#storage.removeItem(this.#key);
      else this.#storage.setItem(this.#key, JSON.stringify(events));
    } catch {
      // Quota exceeded: the in-memory queue still holds the events; only crash-safety is lost.
    }
  }
}
