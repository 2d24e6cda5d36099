// Small sampling helpers for the synthetic data generator. Everything draws from one seeded Rng so a
// given seed always yields the same data set.
import { createRng, type Rng } from "../../gpu-inference/train/rng.ts";

export { createRng, type Rng };

/** Weighted sampling by inverse CDF + binary search: O(log n) per draw, no allocation per draw. */
export class WeightedSampler {
  private readonly cdf: Float64Array;
  private readonly total: number;
  constructor(weights: ArrayLike<number>) {
    this.cdf = new Float64Array(weights.length);
    let acc = 0;
    for (let i = 0; i < weights.length; i++) {
      acc += Math.max(0, weights[i]);
      this.cdf[i] = acc;
    }
    this.total = acc;
  }
  get size(): number {
    return this.cdf.length;
  }
  /** Index in [0, n); -1 only when every weight is 0. */
  sample(rng: Rng): number {
    if (!(this.total > 0)) return -1;
    const x = rng.next() * this.total;
    let lo = 0, hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Writes normalize(center + noise·N(0, I)) into out[off … off+dim). */
export function noisyUnit(center: ArrayLike<number>, noise: number, rng: Rng, out: Float32Array, off: number, dim: number): void {
  let norm = 0;
  for (let d = 0; d < dim; d++) {
    const v = center[d] + noise * rng.normal();
    out[off + d] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  for (let d = 0; d < dim; d++) out[off + d] /= norm;
}

export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += a[ao + d] * b[bo + d];
  return s;
}

/** Groups item indexes by a key (CSR layout): members of key k are items[start[k] … start[k+1]). */
export function groupBy(keys: ArrayLike<number>, nKeys: number): { start: Uint32Array; items: Uint32Array } {
  const start = new Uint32Array(nKeys + 1);
  for (let i = 0; i < keys.length; i++) start[keys[i] + 1]++;
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const fill = start.slice(0, nKeys);
  const items = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) items[fill[keys[i]]++] = i;
  return { start, items };
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
