// Sliding-window latency and error-rate tracker: the "ML p99" input of the degradation levels and the
// `fyp_latency_p99_ms` gauge (DESIGN.md §1 metrics, §3 levels).
//
// Time is cut into buckets (default 60 × 1 s). Each bucket holds an HDR-style log-linear histogram —
// 16 linear sub-buckets per power of two of microseconds — so memory is fixed (buckets × 448 counters)
// whatever the traffic, and a quantile is within ~3% of the true sample (half a sub-bucket over its
// lower edge: 1/32). A running total histogram is kept up to date as buckets enter and expire, so a
// quantile walks 448 counters, not every bucket. The window covers between (n−1) and n buckets of
// history, depending on where in the current bucket "now" falls.
//
// Samples age out by the clock, not by newer samples: every read first expires the buckets that fell out
// of the window, so a quiet window empties on its own. The rule for levels computed from it: no samples in
// the window → percentiles are null → the signal is unknown → nothing is degraded by latency
// (shared/degradation.ts ignores a null p99, and one based on fewer than its minimum samples). A level
// raised by a slow sample therefore ends at most one window after traffic stops, never "until the next
// request".

import { systemClock, type Clock } from "./clock.ts";

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS; // 16 sub-buckets per octave
/** Largest value tracked exactly enough; anything above lands in the last counter (~35 min). */
const MAX_US = 2 ** 31 - 1;
const TOP_EXP = 30; // floor(log2(MAX_US))
export const HISTOGRAM_COUNTERS = (TOP_EXP - SUB_BITS + 2) * SUB; // 448

/** Counter index of a value in microseconds (exact below 16 µs, then 16 per power of two). */
function indexOf(us: number): number {
  if (us < SUB) return us;
  const exp = 31 - Math.clz32(us);
  const top = us >>> (exp - SUB_BITS); // SUB..2·SUB−1
  return (exp - SUB_BITS + 1) * SUB + (top - SUB);
}

/** Midpoint (µs) of the integer range a counter covers. */
function valueOf(index: number): number {
  if (index < SUB) return index;
  const exp = Math.floor(index / SUB) + SUB_BITS - 1;
  const width = 2 ** (exp - SUB_BITS);
  const lower = ((index % SUB) + SUB) * width;
  return lower + (width - 1) / 2;
}

export interface LatencySnapshot {
  count: number;
  errors: number;
  /** errors / count, 0 when empty. */
  errorRate: number;
  /** ms; null when the window is empty. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  meanMs: number | null;
}

export interface LatencyWindowOptions {
  /** Span of the window (ms). Default 60 s. */
  windowMs?: number;
  /** Granularity of expiry (ms). Default 1 s. */
  bucketMs?: number;
  clock?: Clock;
}

export class LatencyWindow {
  readonly #clock: Clock;
  readonly #bucketMs: number;
  readonly #n: number;
  readonly #hist: Uint32Array; // n × HISTOGRAM_COUNTERS
  readonly #count: Uint32Array;
  readonly #errors: Uint32Array;
  readonly #sum: Float64Array;
  readonly #total = new Float64Array(HISTOGRAM_COUNTERS);
  #totalCount = 0;
  #totalErrors = 0;
  #totalSum = 0;
  /** Epoch (now / bucketMs) of the newest bucket. */
  #head: number;

  constructor(opts: LatencyWindowOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#bucketMs = opts.bucketMs ?? 1000;
    const windowMs = opts.windowMs ?? 60_000;
    if (!(this.#bucketMs > 0) || !(windowMs >= this.#bucketMs)) throw new RangeError("need 0 < bucketMs ≤ windowMs");
    this.#n = Math.ceil(windowMs / this.#bucketMs);
    this.#hist = new Uint32Array(this.#n * HISTOGRAM_COUNTERS);
    this.#count = new Uint32Array(this.#n);
    this.#errors = new Uint32Array(this.#n);
    this.#sum = new Float64Array(this.#n);
    this.#head = Math.floor(this.#clock.now() / this.#bucketMs);
  }

  /** Records one call. `ok = false` counts it toward the error rate (its latency still counts). */
  record(durationMs: number, ok = true): void {
    this.#advance();
    const ms = Number.isFinite(durationMs) ? Math.max(0, durationMs) : 0;
    const us = Math.min(MAX_US, Math.round(ms * 1000));
    const slot = this.#slot(this.#head);
    const i = indexOf(us);
    this.#hist[slot * HISTOGRAM_COUNTERS + i]++;
    this.#total[i]++;
    this.#count[slot]++;
    this.#totalCount++;
    this.#sum[slot] += ms;
    this.#totalSum += ms;
    if (!ok) {
      this.#errors[slot]++;
      this.#totalErrors++;
    }
  }

  /** Quantile q ∈ [0, 1] in ms (nearest-rank on the histogram); null when the window is empty. */
  percentile(q: number): number | null {
    this.#advance();
    if (this.#totalCount === 0) return null;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.#totalCount));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_COUNTERS; i++) {
      seen += this.#total[i];
      if (seen >= rank) return valueOf(i) / 1000;
    }
    return valueOf(HISTOGRAM_COUNTERS - 1) / 1000;
  }

  get count(): number {
    this.#advance();
    return this.#totalCount;
  }

  snapshot(): LatencySnapshot {
    this.#advance();
    const count = this.#totalCount;
    return {
      count,
      errors: this.#totalErrors,
      errorRate: count === 0 ? 0 : this.#totalErrors / count,
      p50: this.percentile(0.5),
      p90: this.percentile(0.9),
      p99: this.percentile(0.99),
      meanMs: count === 0 ? null : this.#totalSum / count,
    };
  }

  reset(): void {
    this.#hist.fill(0);
    this.#count.fill(0);
    this.#errors.fill(0);
    this.#sum.fill(0);
    this.#total.fill(0);
    this.#totalCount = this.#totalErrors = this.#totalSum = 0;
    this.#head = Math.floor(this.#clock.now() / this.#bucketMs);
  }

  #slot(epoch: number): number {
    return ((epoch % this.#n) + this.#n) % this.#n;
  }

  /** Expires the buckets that fell out of the window since the last call (each is cleared once). */
  #advance(): void {
    const epoch = Math.floor(this.#clock.now() / this.#bucketMs);
    // A clock that went backwards keeps writing into the newest bucket rather than corrupting old ones.
    if (epoch <= this.#head) return;
    const steps = Math.min(epoch - this.#head, this.#n);
    for (let k = 1; k <= steps; k++) this.#clear(this.#slot(this.#head + k));
    this.#head = epoch;
  }

  #clear(slot: number): void {
    if (this.#count[slot] === 0) return;
    const base = slot * HISTOGRAM_COUNTERS;
    for (let i = 0; i < HISTOGRAM_COUNTERS; i++) {
      const c = this.#hist[base + i];
      if (c !== 0) {
        this.#total[i] -= c;
        this.#hist[base + i] = 0;
      }
    }
    this.#totalCount -= this.#count[slot];
    this.#totalErrors -= this.#errors[slot];
    this.#totalSum -= this.#sum[slot];
    this.#count[slot] = this.#errors[slot] = 0;
    this.#sum[slot] = 0;
    if (this.#totalCount === 0) this.#totalSum = 0; // drop float drift once empty
  }
}
