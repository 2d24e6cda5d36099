// Popularity baseline: rank by the views feature alone (ctx[0] = log1p(views)/15). Its AUC is the bar the
// model must beat. For log-loss the raw feature is not a probability, so it gets a 1-D logistic
// calibration fitted on the training split only (monotonic, so AUC is unchanged).
import { CTX_DIM } from "../../shared/rank-contract.ts";
import type { Dataset } from "./dataset.ts";

export interface Calibration {
  a: number;
  b: number;
}

export const popularityFeature = (d: Dataset): Float64Array => {
  const n = d.label.length;
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) f[i] = d.ctx[i * CTX_DIM];
  return f;
};

/** Fits p = sigmoid(a*x + b) by Newton's method (2 parameters, converges in a handful of steps). */
export function fitCalibration(x: Float64Array, y: Uint8Array, iters = 25): Calibration {
  let a = 0;
  let b = 0;
  for (let it = 0; it < iters; it++) {
    let ga = 0, gb = 0, haa = 1e-6, hab = 0, hbb = 1e-6; // tiny ridge keeps the Hessian invertible
    for (let i = 0; i < x.length; i++) {
      const p = 1 / (1 + Math.exp(-(a * x[i] + b)));
      const r = p - y[i];
      const w = p * (1 - p);
      ga += r * x[i];
      gb += r;
      haa += w * x[i] * x[i];
      hab += w * x[i];
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(det) < 1e-12) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { a, b };
}

export function baselineScores(d: Dataset, cal: Calibration): Float64Array {
  const x = popularityFeature(d);
  for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-(cal.a * x[i] + cal.b)));
  return x;
}
