import { LRUCache } from "lru-cache";

// A bounded, expiring map in a Worker isolate's memory: least-recently-used entries are evicted first
// once either bound is reached (entry count or bytes), and an entry is never returned after its expiry.
// Used for the edge's memory tier in front of the Cache API (edge/edge-cache.ts), verified sessions
// (edge/session-cache.ts) and the pushed hot-video pool (edge/hot-pool.ts). An isolate serves many
// requests, so its memory is the cheapest tier there is; it is per isolate, so every user of it says how
// stale an entry may be (its expiry) and what invalidates it.

export interface IsolateCacheLimits {
  /** Most entries kept. */
  maxEntries: number;
  /** Most bytes kept (the sizes callers declare, e.g. UTF-16 length × 2 of a cached body). */
  maxBytes: number;
  /** Larger entries are not kept at all (one big body must not evict the hot set); default maxBytes / 8. */
  maxEntryBytes?: number;
}

interface Slot<V> {
  v: V;
  expiresAt: number;
}

export class IsolateCache<V> {
  private readonly lru: LRUCache<string, Slot<V>>;
  private readonly maxEntryBytes: number;
  hits = 0;
  misses = 0;

  constructor(limits: IsolateCacheLimits) {
    this.maxEntryBytes = limits.maxEntryBytes ?? Math.floor(limits.maxBytes / 8);
    this.lru = new LRUCache<string, Slot<V>>({ max: limits.maxEntries, maxSize: limits.maxBytes, maxEntrySize: this.maxEntryBytes });
  }

  /** The entry for `key` when it has not expired at `now` (ms since epoch); an expired one is dropped. */
  get(key: string, now = Date.now()): V | undefined {
    const s = this.lru.get(key);
    if (s && now < s.expiresAt) {
      this.hits++;
      return s.v;
    }
    if (s) this.lru.delete(key);
    this.misses++;
    return undefined;
  }

  /**
   * Keep `v` until `expiresAt` (ms since epoch), counting `bytes` against the byte bound. Returns false
   * (and keeps nothing, dropping an older entry of the key) when it is already expired or over
   * maxEntryBytes.
   */
  set(key: string, v: V, bytes: number, expiresAt: number, now = Date.now()): boolean {
    const size = Math.max(1, Math.ceil(bytes));
    if (expiresAt <= now || size > this.maxEntryBytes) {
      this.lru.delete(key);
      return false;
    }
    this.lru.set(key, { v, expiresAt }, { size });
    return true;
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }

  /** Bytes currently counted against maxBytes. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }
}

/** Bytes a JS string takes in memory (UTF-16 code units × 2), the size callers declare for bodies. */
export const stringBytes = (s: string): number => s.length * 2;
