// Training examples in tensor layout: row i is user[i*16..], video[i*16..], ctx[i*4..], label[i].
// `ts` (ms since epoch of the interaction) is optional; when present the held-out split is by time, which is
// the honest one for a recommender (train on the past, evaluate on the future).
import { CTX_DIM, EMBEDDING_DIM, describeBadFeature, findBadFeature } from "../../shared/rank-contract.ts";
import { createRng, shuffle } from "./rng.ts";

export interface Dataset {
  user: Float32Array; // N * 16
  video: Float32Array; // N * 16
  ctx: Float32Array; // N * 4
  label: Uint8Array; // N, 0 | 1
  ts?: Float64Array; // N, optional interaction time (ms)
}

export const datasetSize = (d: Dataset) => d.label.length;

/** Zeroed columns for `n` rows (with a `ts` column when `withTs`). */
export function allocDataset(n: number, withTs: boolean): Dataset {
  return {
    user: new Float32Array(n * EMBEDDING_DIM),
    video: new Float32Array(n * EMBEDDING_DIM),
    ctx: new Float32Array(n * CTX_DIM),
    label: new Uint8Array(n),
    ts: withTs ? new Float64Array(n) : undefined,
  };
}

/**
 * Checks what training needs: consistent column lengths, every feature a serving-valid value (finite,
 * |x| ≤ FEATURE_ABS_MAX — the same bound the ranking service accepts, shared/rank-contract.ts), labels 0|1
 * and finite times. Throws RangeError naming the column and row: one NaN feature makes every gradient NaN,
 * and the trained model's weights with it.
 */
export function assertDataset(d: Dataset): void {
  const n = d.label.length;
  if (d.user.length !== n * EMBEDDING_DIM || d.video.length !== n * EMBEDDING_DIM || d.ctx.length !== n * CTX_DIM) {
    throw new RangeError(`dataset: inconsistent column lengths for ${n} rows`);
  }
  if (d.ts && d.ts.length !== n) throw new RangeError("dataset: ts length mismatch");
  for (const [name, block, dim] of [["user", d.user, EMBEDDING_DIM], ["video", d.video, EMBEDDING_DIM], ["ctx", d.ctx, CTX_DIM]] as const) {
    const bad = findBadFeature(block, dim);
    if (bad) throw new RangeError(`dataset: ${name} ${describeBadFeature(bad)}`);
  }
  for (let i = 0; i < n; i++) {
    if (d.label[i] > 1) throw new RangeError(`dataset: label of row ${i} is ${d.label[i]}, expected 0 or 1`);
    if (d.ts && !Number.isFinite(d.ts[i])) throw new RangeError(`dataset: ts of row ${i} is ${d.ts[i]}, not finite`);
  }
}

export function subset(d: Dataset, idx: ArrayLike<number>): Dataset {
  const n = idx.length;
  const out = allocDataset(n, !!d.ts);
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    out.user.set(d.user.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM), k * EMBEDDING_DIM);
    out.video.set(d.video.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM), k * EMBEDDING_DIM);
    out.ctx.set(d.ctx.subarray(i * CTX_DIM, (i + 1) * CTX_DIM), k * CTX_DIM);
    out.label[k] = d.label[i];
    if (out.ts && d.ts) out.ts[k] = d.ts[i];
  }
  return out;
}

export interface SplitOptions {
  testFraction?: number; // default 0.2
  mode?: "time" | "random"; // default: time when ts exists, else random
  seed?: number;
}

export interface Split {
  train: Dataset;
  test: Dataset;
  mode: "time" | "random";
}

export function holdoutSplit(d: Dataset, opts: SplitOptions = {}): Split {
  assertDataset(d);
  const n = datasetSize(d);
  const frac = opts.testFraction ?? 0.2;
  const mode = opts.mode ?? (d.ts ? "time" : "random");
  if (mode === "time" && !d.ts) throw new Error("time split needs ts");
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (mode === "random") shuffle(order, createRng(opts.seed ?? 1));
  else {
    const ts = d.ts!;
    // Stable sort by time (ties keep insertion order).
    const sorted = Array.from(order).sort((a, b) => ts[a] - ts[b] || a - b);
    order.set(sorted);
  }
  const nTest = Math.max(1, Math.round(n * frac));
  return { train: subset(d, order.subarray(0, n - nTest)), test: subset(d, order.subarray(n - nTest)), mode };
}
