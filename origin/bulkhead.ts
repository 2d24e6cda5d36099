import type { ResiliencePolicy } from "../shared/resilience-policy.ts";

// Bulkhead for the origin's feed pipeline: at most `max` feed computations in flight per isolate. Past
// that, a request is answered from cache (cached recommendations / cached trending) or refused with 503 so
// the edge serves it from another region or its own fallbacks. Without it, a degraded path (level 2 reads
// everything from Postgres) plus the edge's retries piles work onto an isolate until every dependency
// call in it times out and it cannot recover. No queue (cockatiel's bulkhead with queue 0): a call over
// the limit is refused at once.

/** A call the bulkhead refused: `max` calls were already in flight. */
export class BulkheadFullError extends Error {
  override readonly name = "BulkheadFullError";
  constructor(max: number) {
    super(`bulkhead full: ${max} calls in flight`);
  }
}

export class Bulkhead implements ResiliencePolicy {
  private inflight = 0;
  private readonly max: number;
  /** Calls refused since construction (a counter). */
  rejected = 0;

  constructor(max: number) {
    this.max = max;
  }

  get active(): number {
    return this.inflight;
  }

  /** Runs fn if there is room (it holds a slot until it settles); else throws BulkheadFullError without calling it. */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.inflight >= this.max) {
      this.rejected++;
      throw new BulkheadFullError(this.max);
    }
    this.inflight++;
    try {
      return await fn(signal ?? new AbortController().signal);
    } finally {
      this.inflight--;
    }
  }

  /** Runs `f` if there is room, else `overflow` (which should be cheap and runs outside the bulkhead). */
  async run<T>(f: () => Promise<T>, overflow: () => Promise<T>): Promise<T> {
    if (this.inflight >= this.max) {
      this.rejected++;
      return overflow();
    }
    return this.execute(() => f());
  }
}
