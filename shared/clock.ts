// Time source for the resilience primitives (breaker, retry, latency window, degradation hysteresis).
// Everything that waits or measures goes through a Clock so tests can drive time with FakeClock instead
// of sleeping: "tests never time things" (DESIGN.md §5). Web-standard APIs only — this runs in workerd.

export interface Clock {
  /** Milliseconds; only differences and bucket boundaries matter to callers. */
  now(): number;
  /** Resolves after `ms`; rejects with `signal.reason` if the signal aborts first (timer cleared). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("aborted", "AbortError");
}

/**
 * Wall clock. Date.now() rather than performance.now(): in workerd both advance only across I/O, and
 * Date.now() also gives timestamps that mean something in logs and transition events. A backwards NTP step
 * can make one duration negative; callers clamp durations at 0.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal!));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

interface PendingSleep {
  due: number;
  seq: number;
  resolve: () => void;
}

/** Lets every queued promise continuation run (a macrotask drains the whole microtask queue). */
function flushMicrotasks(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/**
 * Deterministic clock for tests. Time moves only through advance(); sleeps due within the advanced span
 * resolve in (due time, registration) order, and time is set to each sleep's due time before it resolves,
 * so code that wakes up and sleeps again inside the same advance() sees the right now() and is also run.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: PendingSleep[] = [];

  constructor(startMs = 1_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Number of sleeps not yet resolved (handy to assert a timer was cleaned up). */
  get pendingSleeps(): number {
    return this.#pending.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSleep = {
        due: this.#now + ms,
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#pending = this.#pending.filter((p) => p !== entry);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.push(entry);
    });
  }

  /** Moves time forward by `ms`, resolving due sleeps one at a time in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + Math.max(0, ms);
    await flushMicrotasks();
    for (;;) {
      const next = this.#earliest();
      if (!next || next.due > target) break;
      this.#pending = this.#pending.filter((p) => p !== next);
      this.#now = next.due;
      next.resolve();
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  #earliest(): PendingSleep | undefined {
    let best: PendingSleep | undefined;
    for (const p of this.#pending) {
      if (!best || p.due < best.due || (p.due === best.due && p.seq < best.seq)) best = p;
    }
    return best;
  }
}
