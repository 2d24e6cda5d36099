// The trial permits of a HALF_OPEN circuit breaker (shared/circuit-breaker.ts), each one a lease.
//
// resilience4j hands out permittedNumberOfCallsInHalfOpenState permits and waits, without a time limit,
// until that many trials have reported (maxWaitDurationInHalfOpenState defaults to 0 = no limit). A trial
// whose call never reports — its request was cancelled, the isolate dropped the promise — keeps its permit
// forever, and once all N are held that way the breaker rejects every call, forever (resilience4j issue
// #903, "CircuitBreaker stuck in half open": "you should make sure that they never get stuck").
//
// Here a permit is leased for `leaseMs`. A lease that lapses without a report goes back to the pool, so
// the next call can run the trial instead. The lapsed call is not written off: if it reports later, while
// the same half-open episode lasts, its outcome still counts as a trial (a slow call is evidence too).
// A lapse only ever adds a trial call, it never removes one, so N outcomes always arrive as long as calls
// keep coming: half-open ends in a verdict, at any traffic level.
//
// Failure semantics: at most N leases are live at once; reported + live ≤ N is what admits a call.
// Reports without a lease id (the manual tryAcquirePermission/onSuccess API) end the oldest live lease.

export class HalfOpenPermits {
  readonly #n: number;
  readonly #leaseMs: number;
  /** Live leases: id → expiry (ms). Map order is grant order, so the first entry is the oldest. */
  readonly #leases = new Map<number, number>();
  #seq = 0;
  #reported = 0;

  /** `n` permits (≥ 1); `leaseMs` how long a granted permit waits for its report (0 = forever). */
  constructor(n: number, leaseMs: number) {
    this.#n = n;
    this.#leaseMs = leaseMs;
  }

  /** Grants a permit at `nowMs` (lapsed leases are returned first): its lease id, or null if none is free. */
  acquire(nowMs: number): number | null {
    this.#expire(nowMs);
    if (this.#reported + this.#leases.size >= this.#n) return null;
    const id = ++this.#seq;
    this.#leases.set(id, this.#leaseMs > 0 ? nowMs + this.#leaseMs : Infinity);
    return id;
  }

  /** Gives a permit back unused (the call was not made, or its outcome is ignored): lease `id`, else the oldest. */
  release(id?: number): void {
    const key = id ?? this.#leases.keys().next().value;
    if (key !== undefined) this.#leases.delete(key);
  }

  /** A trial reported its outcome: its lease (`id`, else the oldest) ends and the permit is used up. A late
   * report whose lease already lapsed still counts as a trial. */
  report(id?: number): void {
    this.release(id);
    this.#reported++;
  }

  /** Trials granted and not yet reported whose lease is still running at `nowMs`. */
  inFlight(nowMs: number): number {
    this.#expire(nowMs);
    return this.#leases.size;
  }

  #expire(nowMs: number): void {
    for (const [id, until] of this.#leases) if (until <= nowMs) this.#leases.delete(id);
  }
}
