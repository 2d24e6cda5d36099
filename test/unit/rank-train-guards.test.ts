import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assertFiniteOutputs, createScorer } from "../../gpu-inference/backends.ts";
import { maxAbsActivation, paramsFinite, zeroParams, type NetParams } from "../../gpu-inference/model/network.ts";
import { exportOnnx } from "../../gpu-inference/model/onnx-export.ts";
import { ModelRegistry, type RegisterMeta } from "../../gpu-inference/registry.ts";
import { generateSynthetic } from "../../gpu-inference/train/synthetic.ts";
import { trainAndEvaluate } from "../../gpu-inference/train/pipeline.ts";
import { UnpublishableModelError, publishModel } from "../../gpu-inference/train/publish.ts";
import { TrainingDivergedError, train } from "../../gpu-inference/train/trainer.ts";
import { FEATURE_ABS_MAX } from "../../shared/rank-contract.ts";

// The training side of "no non-finite number in the ranking path": bad data is refused before training,
// a diverged or overflowing model is never registered, and the registry refuses NaN metrics itself.
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), "fyp-rank-guard-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const meta = (over: Partial<RegisterMeta> = {}): RegisterMeta => ({
  auc: 0.7, logloss: 0.5, baseline_auc: 0.55, baseline_logloss: 0.68, rows: 1000, data_window: { from: null, to: null }, ...over,
});
const scaled = (p: NetParams, f: number): NetParams => {
  const out = zeroParams();
  for (const k of Object.keys(p) as (keyof NetParams)[]) out[k] = p[k].map((x) => x * f);
  return out;
};

describe("training guards", () => {
  it("the registry refuses a model whose AUC or log-loss is not finite, and writes nothing", async () => {
    const dir = tempDir();
    const reg = new ModelRegistry(dir);
    for (const over of [{ auc: Number.NaN }, { logloss: Infinity }, { auc: null }, { baseline_auc: Number.NaN }, { baseline_logloss: -Infinity }]) {
      await expect(reg.register(new Uint8Array([1, 2, 3]), meta(over)), JSON.stringify(over)).rejects.toThrow(/not a finite number; not registering/);
    }
    expect(existsSync(reg.manifestPath)).toBe(false);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    // A model without a baseline (null) is fine; only NaN/Infinity are refused there.
    await expect(reg.register(new Uint8Array([1]), meta({ baseline_auc: null, baseline_logloss: null }))).resolves.toMatchObject({ auc: 0.7 });
  });

  it("training refuses non-finite or out-of-range features, bad labels and times, naming column and row", () => {
    const cases: Array<[(d: ReturnType<typeof generateSynthetic>) => void, RegExp]> = [
      [(d) => (d.user[3 * 16 + 2] = Number.NaN), /user row 3, value 2 is NaN/],
      [(d) => (d.video[7 * 16] = 1e38), /video row 7, value 0 is 1e\+38/],
      [(d) => (d.ctx[5 * 4 + 1] = -Infinity), /ctx row 5, value 1 is -Infinity/],
      [(d) => (d.label[9] = 2), /label of row 9 is 2/],
      [(d) => (d.ts![4] = Number.NaN), /ts of row 4 is NaN/],
    ];
    for (const [corrupt, message] of cases) {
      const d = generateSynthetic({ rows: 200, seed: 2 });
      corrupt(d);
      expect(() => trainAndEvaluate(d, { train: { epochs: 1 } })).toThrow(message);
      expect(() => train(d, { epochs: 1 })).toThrow(message);
    }
  });

  it("a run whose loss turns NaN stops with TrainingDivergedError instead of returning NaN weights", () => {
    const d = generateSynthetic({ rows: 1000, seed: 3 });
    expect(() => train(d, { epochs: 3, learningRate: 1e38 })).toThrow(TrainingDivergedError);
  });

  it("publishModel refuses NaN weights and weights that can overflow float32 within ±FEATURE_ABS_MAX", async () => {
    const d = generateSynthetic({ rows: 2000, seed: 5 });
    const { params, report } = trainAndEvaluate(d, { train: { epochs: 1, seed: 1 } });
    const bound = maxAbsActivation(params, FEATURE_ABS_MAX);
    expect(bound).toBeGreaterThan(0);
    expect(bound).toBeLessThan(1e6); // a trained model is nowhere near float32's 3.4e38
    expect(maxAbsActivation(zeroParams(), FEATURE_ABS_MAX)).toBe(0);

    const dir = tempDir();
    const nan = scaled(params, 1);
    nan.w2[7] = Number.NaN;
    expect(paramsFinite(nan)).toBe(false);
    await expect(publishModel(dir, nan, report, { dataWindow: { from: null, to: null } })).rejects.toThrow(UnpublishableModelError);
    // Finite weights of 1e15 × trained ones: each layer finite, but the logit's worst case is ~1e50.
    const huge = scaled(params, 1e15);
    expect(paramsFinite(huge)).toBe(true);
    expect(maxAbsActivation(huge, FEATURE_ABS_MAX)).toBe(Infinity);
    await expect(publishModel(dir, huge, report, { dataWindow: { from: null, to: null } })).rejects.toThrow(/overflow float32/);
    expect(await new ModelRegistry(dir).list()).toEqual([]);
    await expect(publishModel(dir, params, report, { dataWindow: { from: null, to: null } })).resolves.toMatchObject({ auc: report.auc });
  });

  it("the serving-side probe refuses a model whose scores are not finite at the edge of the input range", async () => {
    const { params } = trainAndEvaluate(generateSynthetic({ rows: 2000, seed: 5 }), { train: { epochs: 1, seed: 1 } });
    // A NaN weight (a diverged run registered before these guards), and weights so large that float32
    // sums of +Infinity and -Infinity turn into NaN inside the network.
    const nan = scaled(params, 1);
    nan.b3[0] = Number.NaN;
    const scorers = await Promise.all([params, nan, scaled(params, 1e25)].map((p) => createScorer(exportOnnx(p), { backend: "cpu" })));
    try {
      await expect(assertFiniteOutputs(scorers[0])).resolves.toBeUndefined();
      for (const bad of scorers.slice(1)) await expect(assertFiniteOutputs(bad)).rejects.toThrow(/returned score NaN for probe row \d+ .*refusing to serve it/);
    } finally {
      for (const s of scorers) await s.release();
    }
  });
});
