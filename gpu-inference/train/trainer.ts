// Mini-batch Adam on binary cross-entropy, by hand over typed arrays. Deterministic: the only randomness
// (init + per-epoch shuffle) comes from the seeded rng.
import {
  FEATURE_DIM, HIDDEN1, HIDDEN2, PARAM_NAMES, forwardRow, initParams, newActivations, sigmoid, zeroParams,
  type NetParams,
} from "../model/network.ts";
import { assertDataset, datasetSize, type Dataset } from "./dataset.ts";
import { createRng, shuffle } from "./rng.ts";

export interface TrainOptions {
  epochs?: number; // default 12
  batchSize?: number; // default 128
  learningRate?: number; // default 3e-3
  l2?: number; // weight decay on matrices, default 1e-5
  seed?: number; // default 42
  onEpoch?: (epoch: number, trainLoss: number) => void;
}

type Grads = Record<keyof NetParams, Float64Array>;

function zeroGrads(): Grads {
  const z = zeroParams();
  const g = {} as Grads;
  for (const k of PARAM_NAMES) g[k] = new Float64Array(z[k].length);
  return g;
}

/** Training produced a non-finite loss (diverged); nothing it produced may be registered. */
export class TrainingDivergedError extends Error {
  override name = "TrainingDivergedError";
}

/**
 * Trains from a fresh init and returns the parameters. Throws TrainingDivergedError as soon as an epoch's
 * mean loss is not finite (inputs are checked by holdoutSplit/assertDataset, so this is a learning-rate or
 * numeric blow-up), rather than returning NaN weights.
 */
export function train(d: Dataset, opts: TrainOptions = {}): NetParams {
  assertDataset(d);
  const epochs = opts.epochs ?? 12;
  const batchSize = opts.batchSize ?? 128;
  const lr = opts.learningRate ?? 3e-3;
  const l2 = opts.l2 ?? 1e-5;
  const rng = createRng(opts.seed ?? 42);
  const p = initParams(rng);
  const g = zeroGrads();
  const m = zeroGrads();
  const v = zeroGrads();
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  let step = 0;

  const n = datasetSize(d);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const a = newActivations();
  const dh2 = new Float64Array(HIDDEN2);
  const dh1 = new Float64Array(HIDDEN1);

  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffle(order, rng);
    let lossSum = 0;
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const bs = end - start;
      for (const k of PARAM_NAMES) g[k].fill(0);
      for (let r = start; r < end; r++) {
        const i = order[r];
        const z = forwardRow(p, d.user, d.video, d.ctx, i, a);
        const y = d.label[i];
        const prob = sigmoid(z);
        // log(1+e^z) - y*z, computed stably.
        lossSum += Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
        const dz = (prob - y) / bs; // d(mean BCE)/dlogit
        g.b3[0] += dz;
        for (let j = 0; j < HIDDEN2; j++) {
          g.w3[j] += dz * a.h2[j];
          dh2[j] = a.h2[j] > 0 ? dz * p.w3[j] : 0;
        }
        for (let i1 = 0; i1 < HIDDEN1; i1++) {
          const h = a.h1[i1];
          let s = 0;
          const row = i1 * HIDDEN2;
          for (let j = 0; j < HIDDEN2; j++) {
            if (h !== 0) g.w2[row + j] += h * dh2[j];
            s += p.w2[row + j] * dh2[j];
          }
          dh1[i1] = h > 0 ? s : 0;
        }
        for (let j = 0; j < HIDDEN2; j++) g.b2[j] += dh2[j];
        for (let i1 = 0; i1 < HIDDEN1; i1++) g.b1[i1] += dh1[i1];
        for (let f = 0; f < FEATURE_DIM; f++) {
          const xf = a.x[f];
          if (xf === 0) continue;
          const row = f * HIDDEN1;
          for (let i1 = 0; i1 < HIDDEN1; i1++) g.w1[row + i1] += xf * dh1[i1];
        }
      }
      step++;
      const c1 = 1 - Math.pow(beta1, step);
      const c2 = 1 - Math.pow(beta2, step);
      for (const k of PARAM_NAMES) {
        const pk = p[k], gk = g[k], mk = m[k], vk = v[k];
        const decay = k.startsWith("w") ? l2 : 0;
        for (let q = 0; q < pk.length; q++) {
          const grad = gk[q] + decay * pk[q];
          mk[q] = beta1 * mk[q] + (1 - beta1) * grad;
          vk[q] = beta2 * vk[q] + (1 - beta2) * grad * grad;
          pk[q] -= (lr * (mk[q] / c1)) / (Math.sqrt(vk[q] / c2) + eps);
        }
      }
    }
    if (!Number.isFinite(lossSum)) throw new TrainingDivergedError(`training diverged: epoch ${epoch + 1} loss is ${lossSum / n}`);
    opts.onEpoch?.(epoch, lossSum / n);
  }
  return p;
}
