// Per-isolate request coalescing: concurrent misses for one key share one in-flight promise. Waiters
// wait at most `maxWaitMs`; a leader failure or a timeout is reported to them as an error so the caller
// can serve stale/fallback content instead of hanging.

export class CoalesceTimeout extends Error {}

export interface Coalesced<T> {
  value: T;
  /** true when this caller rode on another caller's fetch. */
  coalesced: boolean;
}

export class Coalescer<T> {
  private readonly inflight = new Map<string, Promise<T>>();
  leaderCalls = 0;
  coalescedCalls = 0;

  get size(): number {
    return this.inflight.size;
  }

  /** Ride on a fetch already in flight for `key` (no new origin call), or null when there is none. */
  join(key: string, maxWaitMs: number): Promise<T> | null {
    const existing = this.inflight.get(key);
    if (!existing) return null;
    this.coalescedCalls++;
    return bounded(existing, maxWaitMs);
  }

  async run(key: string, fetcher: () => Promise<T>, maxWaitMs: number): Promise<Coalesced<T>> {
    const existing = this.inflight.get(key);
    if (existing) {
      this.coalescedCalls++;
      return { value: await bounded(existing, maxWaitMs), coalesced: true };
    }
    this.leaderCalls++;
    const p = fetcher().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return { value: await p, coalesced: false };
  }
}

async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new CoalesceTimeout(`waited ${ms} ms for the leader`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
