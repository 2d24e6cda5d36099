// A small per-isolate cache in front of the feature store: a Worker isolate serves many requests, and the
// same popular videos appear in most candidate pools, so re-reading (and re-decoding) their features from
// Redis on every request is the origin's biggest cost. Entries live `ttlMs` (view/like counts are at most
// that stale) and the map is bounded: when full, the oldest insertions are evicted first.
export class IsolateCache<V> {
  private readonly map = new Map<string, { at: number; v: V }>();
  private readonly max: number;
  private readonly ttlMs: number;
  hits = 0;
  misses = 0;

  constructor(max: number, ttlMs: number) {
    this.max = max;
    this.ttlMs = ttlMs;
  }

  get(key: string, now = Date.now()): V | undefined {
    const e = this.map.get(key);
    if (e && now - e.at < this.ttlMs) {
      this.hits++;
      return e.v;
    }
    if (e) this.map.delete(key);
    this.misses++;
    return undefined;
  }

  /** Forget every entry (tests). */
  clear(): void {
    this.map.clear();
  }

  /** Forget an entry (its source changed underneath, e.g. a replicated edit). */
  delete(key: string): void {
    this.map.delete(key);
  }

  set(key: string, v: V, now = Date.now()): void {
    if (this.map.size >= this.max) {
      // Map iterates in insertion order: drop the oldest tenth in one go.
      let n = Math.ceil(this.max / 10);
      for (const k of this.map.keys()) {
        this.map.delete(k);
        if (--n <= 0) break;
      }
    }
    this.map.delete(key);
    this.map.set(key, { at: now, v });
  }
}
