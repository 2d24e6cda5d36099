// Bulkhead for the origin's feed pipeline: at most `max` feed computations in flight per isolate. Past
// that, a request is answered from cache (cached recommendations / cached trending) or refused with 503 so
// the edge serves it from another region or its own fallbacks. Without it, a degraded path (level 2 reads
// everything from Postgres) plus the edge's retries piles work onto an isolate until every dependency
// call in it times out and it cannot recover.
export class Bulkhead {
  private inflight = 0;
  private readonly max: number;
  rejected = 0;

  constructor(max: number) {
    this.max = max;
  }

  get active(): number {
    return this.inflight;
  }

  /** Runs `f` if there is room, else `overflow` (which should be cheap). */
  async run<T>(f: () => Promise<T>, overflow: () => Promise<T>): Promise<T> {
    if (this.inflight >= this.max) {
      this.rejected++;
      return overflow();
    }
    this.inflight++;
    try {
      return await f();
    } finally {
      this.inflight--;
    }
  }
}
