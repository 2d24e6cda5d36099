// The engagement network, in plain typed arrays so the trainer, the exporter and the tests share one
// definition. Layout (fixed by the model contract):
//   x = concat(user, video, user⊙video, ctx)  (52)
//   h1 = relu(x·W1 + b1) (32) → h2 = relu(h1·W2 + b2) (16) → score = sigmoid(h2·W3 + b3) (1)
// Weight matrices are row-major [in, out], the same layout ONNX Gemm/MatMul expects for B, so export is a
// straight copy.
import { CTX_DIM, EMBEDDING_DIM } from "../../shared/rank-contract.ts";
import type { Rng } from "../train/rng.ts";

export const FEATURE_DIM = 3 * EMBEDDING_DIM + CTX_DIM; // 52
export const HIDDEN1 = 32;
export const HIDDEN2 = 16;

export interface NetParams {
  w1: Float32Array; // FEATURE_DIM * HIDDEN1
  b1: Float32Array; // HIDDEN1
  w2: Float32Array; // HIDDEN1 * HIDDEN2
  b2: Float32Array; // HIDDEN2
  w3: Float32Array; // HIDDEN2 * 1
  b3: Float32Array; // 1
}

export const PARAM_SHAPES: Record<keyof NetParams, readonly number[]> = {
  w1: [FEATURE_DIM, HIDDEN1],
  b1: [HIDDEN1],
  w2: [HIDDEN1, HIDDEN2],
  b2: [HIDDEN2],
  w3: [HIDDEN2, 1],
  b3: [1],
};
export const PARAM_NAMES = Object.keys(PARAM_SHAPES) as (keyof NetParams)[];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function zeroParams(): NetParams {
  const p = {} as NetParams;
  for (const k of PARAM_NAMES) p[k] = new Float32Array(size(PARAM_SHAPES[k]));
  return p;
}

/** He-normal weights (ReLU layers), zero biases: deterministic given the rng. */
export function initParams(rng: Rng): NetParams {
  const p = zeroParams();
  for (const k of ["w1", "w2", "w3"] as const) {
    const fanIn = PARAM_SHAPES[k][0];
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < p[k].length; i++) p[k][i] = rng.normal() * std;
  }
  return p;
}

/** Writes the 52 features of row i into x (reused buffer, avoids per-row allocation). */
export function buildFeatures(user: Float32Array, video: Float32Array, ctx: Float32Array, i: number, x: Float64Array): void {
  const u = i * EMBEDDING_DIM;
  const c = i * CTX_DIM;
  for (let d = 0; d < EMBEDDING_DIM; d++) {
    const a = user[u + d];
    const b = video[u + d];
    x[d] = a;
    x[EMBEDDING_DIM + d] = b;
    x[2 * EMBEDDING_DIM + d] = a * b;
  }
  for (let d = 0; d < CTX_DIM; d++) x[3 * EMBEDDING_DIM + d] = ctx[c + d];
}

/** Activations of one row, kept for backprop. */
export interface RowActivations {
  x: Float64Array;
  h1: Float64Array;
  h2: Float64Array;
  logit: number;
}

export function newActivations(): RowActivations {
  return { x: new Float64Array(FEATURE_DIM), h1: new Float64Array(HIDDEN1), h2: new Float64Array(HIDDEN2), logit: 0 };
}

function dense(inp: Float64Array, w: Float32Array, b: Float32Array, out: Float64Array, relu: boolean): void {
  const nOut = out.length;
  for (let j = 0; j < nOut; j++) out[j] = b[j];
  for (let i = 0; i < inp.length; i++) {
    const v = inp[i];
    if (v === 0) continue; // ReLU outputs are often zero; skipping them is exact and cheaper
    const row = i * nOut;
    for (let j = 0; j < nOut; j++) out[j] += v * w[row + j];
  }
  if (relu) for (let j = 0; j < nOut; j++) if (out[j] < 0) out[j] = 0;
}

/** Forward pass for row i; fills `a` and returns the logit. */
export function forwardRow(p: NetParams, user: Float32Array, video: Float32Array, ctx: Float32Array, i: number, a: RowActivations): number {
  buildFeatures(user, video, ctx, i, a.x);
  dense(a.x, p.w1, p.b1, a.h1, true);
  dense(a.h1, p.w2, p.b2, a.h2, true);
  let z = p.b3[0];
  for (let j = 0; j < HIDDEN2; j++) z += a.h2[j] * p.w3[j];
  a.logit = z;
  return z;
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

const FLOAT32_MAX = 3.4028234663852886e38;

/** True when every parameter is a finite number. */
export function paramsFinite(p: NetParams): boolean {
  for (const k of PARAM_NAMES) for (const v of p[k]) if (!Number.isFinite(v)) return false;
  return true;
}

/**
 * Worst-case |pre-activation| anywhere in the network (the logit included) over all inputs with every
 * embedding component and context feature in [-inputAbsMax, inputAbsMax], by interval arithmetic layer by
 * layer (features: |user|, |video|, |ctx| ≤ B and |user⊙video| ≤ B²). Infinity when that exceeds float32's
 * range, i.e. when onnxruntime's float32 arithmetic could overflow to ±Infinity and turn a score into NaN.
 * Below FLOAT32_MAX every score of the exported model is finite for every in-range input.
 */
export function maxAbsActivation(p: NetParams, inputAbsMax: number): number {
  if (!paramsFinite(p)) return Infinity;
  const B = inputAbsMax;
  const x = new Float64Array(FEATURE_DIM).fill(B);
  for (let d = 0; d < EMBEDDING_DIM; d++) x[2 * EMBEDDING_DIM + d] = B * B;
  let worst = 0;
  const layer = (inp: Float64Array, w: Float32Array, b: Float32Array, nOut: number): Float64Array => {
    const out = new Float64Array(nOut);
    for (let j = 0; j < nOut; j++) {
      let s = Math.abs(b[j]);
      for (let i = 0; i < inp.length; i++) s += inp[i] * Math.abs(w[i * nOut + j]);
      out[j] = s;
      worst = Math.max(worst, s);
    }
    return out; // also an upper bound of relu(out) ≥ 0
  };
  layer(layer(layer(x, p.w1, p.b1, HIDDEN1), p.w2, p.b2, HIDDEN2), p.w3, p.b3, 1);
  return worst < FLOAT32_MAX ? worst : Infinity;
}

/** Engagement probabilities for n rows (the reference the ONNX export is checked against). */
export function predict(p: NetParams, user: Float32Array, video: Float32Array, ctx: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const a = newActivations();
  for (let i = 0; i < n; i++) out[i] = sigmoid(forwardRow(p, user, video, ctx, i, a));
  return out;
}
