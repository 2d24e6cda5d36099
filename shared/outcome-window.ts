// The circuit breaker's sliding window of call outcomes (shared/circuit-breaker.ts), resilience4j's
// FixedSizeSlidingWindowMetrics (COUNT_BASED) and SlidingTimeWindowMetrics (TIME_BASED) in one ring.
//
// Ring of `size` buckets with running totals, O(1) per call. COUNT_BASED: one bucket per call (key = call
// number), so the ring is the last N calls, however old they are; a count window never forgets by time,
// which is why the breaker starts a fresh one on every transition to CLOSED (as resilience4j does).
// TIME_BASED: one bucket per epoch second (key = second); moving to a newer key empties the buckets it
// laps, so outcomes older than N seconds leave the window even when no call arrives.

export interface OutcomeCounts {
  calls: number;
  failed: number;
  slow: number;
}

export class OutcomeWindow {
  readonly #byTime: boolean;
  readonly #calls: Uint32Array;
  readonly #failed: Uint32Array;
  readonly #slow: Uint32Array;
  readonly #c: OutcomeCounts = { calls: 0, failed: 0, slow: 0 };
  #head: number; // newest key

  /** `size`: calls (COUNT_BASED) or seconds (TIME_BASED, `byTime`); `nowMs`: the clock at creation. */
  constructor(size: number, byTime: boolean, nowMs: number) {
    this.#byTime = byTime;
    this.#calls = new Uint32Array(size);
    this.#failed = new Uint32Array(size);
    this.#slow = new Uint32Array(size);
    this.#head = byTime ? Math.floor(nowMs / 1000) : -1;
  }

  /** Adds one outcome at `nowMs`; returns the totals now in the window. */
  record(failed: boolean, slow: boolean, nowMs: number): OutcomeCounts {
    const i = this.#advance(this.#byTime ? Math.floor(nowMs / 1000) : this.#head + 1);
    this.#calls[i]++;
    this.#c.calls++;
    if (failed) {
      this.#failed[i]++;
      this.#c.failed++;
    }
    if (slow) {
      this.#slow[i]++;
      this.#c.slow++;
    }
    return { ...this.#c };
  }

  /** Totals in the window at `nowMs` (a time window first drops the seconds that aged out). */
  counts(nowMs: number): OutcomeCounts {
    if (this.#byTime) this.#advance(Math.floor(nowMs / 1000));
    return { ...this.#c };
  }

  /** Makes `key` the newest bucket (a key older than the head — clock stepped back — reuses the head). */
  #advance(key: number): number {
    const n = this.#calls.length;
    for (let k = Math.max(this.#head + 1, key - n + 1); k <= key; k++) {
      const i = ((k % n) + n) % n;
      this.#c.calls -= this.#calls[i];
      this.#c.failed -= this.#failed[i];
      this.#c.slow -= this.#slow[i];
      this.#calls[i] = this.#failed[i] = this.#slow[i] = 0;
    }
    this.#head = Math.max(this.#head, key);
    return ((this.#head % n) + n) % n;
  }
}
