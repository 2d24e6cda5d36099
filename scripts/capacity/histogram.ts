// Latency distributions as mass on fixed log-spaced bins (0.1 ms … 10 s, 4% wide), so distributions of
// different seconds, pods and regions can be mixed by adding weighted vectors and a p99 read off the sum.
// Quantiles interpolate geometrically inside a bin; the error is bounded by the bin width (±2%).

export const MIN_MS = 0.1;
export const MAX_MS = 10_000;
const GROWTH = 1.04;
export const BINS = Math.ceil(Math.log(MAX_MS / MIN_MS) / Math.log(GROWTH)) + 1;
const LOG_G = Math.log(GROWTH);

/** Upper edge of bin i (ms). Bin 0 holds everything ≤ MIN_MS; the last bin everything above MAX_MS. */
export const binUpper = (i: number): number => MIN_MS * GROWTH ** i;

/** Index of the bin holding `ms`. */
export function binOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BINS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_G - 1e-12));
}

export const emptyHistogram = (): Float64Array => new Float64Array(BINS);

/** Adds `weight` × h to acc (in place). */
export function addInto(acc: Float64Array, h: Float64Array, weight = 1): void {
  for (let i = 0; i < BINS; i++) acc[i] += h[i] * weight;
}

/** Adds mass `weight` × h shifted right by `shiftMs` (every sample delayed by that much). */
export function addShiftedInto(acc: Float64Array, h: Float64Array, shiftMs: number, weight = 1): void {
  if (shiftMs <= 0) return addInto(acc, h, weight);
  for (let i = 0; i < BINS; i++) if (h[i] > 0) acc[binOf(representative(i) + shiftMs)] += h[i] * weight;
}

/** A latency that stands for bin i (geometric middle). */
export const representative = (i: number): number => (i === 0 ? MIN_MS : Math.sqrt(binUpper(i - 1) * binUpper(i)));

export const total = (h: Float64Array): number => h.reduce((s, x) => s + x, 0);

/** Normalised copy (sums to 1); all zeros stay zeros. */
export function normalised(h: Float64Array): Float64Array {
  const t = total(h);
  const out = new Float64Array(BINS);
  if (t > 0) for (let i = 0; i < BINS; i++) out[i] = h[i] / t;
  return out;
}

/** Quantile q ∈ (0, 1] of the distribution (ms); 0 for an empty histogram (as the service's gauge reads). */
export function quantile(h: Float64Array, q: number): number {
  const t = total(h);
  if (t <= 0) return 0;
  const target = q * t;
  let cum = 0;
  for (let i = 0; i < BINS; i++) {
    if (h[i] <= 0) continue;
    if (cum + h[i] >= target) {
      if (i === 0) return MIN_MS;
      const frac = Math.min(1, Math.max(0, (target - cum) / h[i]));
      return binUpper(i - 1) * GROWTH ** frac;
    }
    cum += h[i];
  }
  return MAX_MS;
}

/** Mass strictly above `ms` as a fraction of the total (bins straddling `ms` count by their overlap). */
export function fractionAbove(h: Float64Array, ms: number): number {
  const t = total(h);
  if (t <= 0) return 0;
  const b = binOf(ms);
  let above = 0;
  for (let i = b + 1; i < BINS; i++) above += h[i];
  if (b > 0) above += h[b] * (Math.log(binUpper(b) / ms) / LOG_G);
  return above / t;
}

/** Histogram of raw samples (ms). */
export function fromSamples(samples: ArrayLike<number>): Float64Array {
  const h = new Float64Array(BINS);
  for (let i = 0; i < samples.length; i++) h[binOf(samples[i])] += 1;
  return h;
}
