import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { exportOnnx } from "../../gpu-inference/model/onnx-export.ts";
import { PARAM_NAMES, forwardRow, initParams, newActivations, predict, type NetParams } from "../../gpu-inference/model/network.ts";
import { auc, logLoss } from "../../gpu-inference/train/metrics.ts";
import { holdoutSplit, type Dataset } from "../../gpu-inference/train/dataset.ts";
import { train } from "../../gpu-inference/train/trainer.ts";
import { formatReport, trainAndEvaluate } from "../../gpu-inference/train/pipeline.ts";
import { createRng } from "../../gpu-inference/train/rng.ts";
import { generateSynthetic } from "../../gpu-inference/train/synthetic.ts";
import { defaultEpochs } from "../../gpu-inference/train/cli.ts";

function randomInputs(n: number, seed: number) {
  const rng = createRng(seed);
  return {
    user: Float32Array.from({ length: n * 16 }, () => rng.normal() * 0.5),
    video: Float32Array.from({ length: n * 16 }, () => rng.normal() * 0.5),
    ctx: Float32Array.from({ length: n * 4 }, () => rng.next()),
  };
}

describe("engagement model", () => {
  it("trained on synthetic data beats the popularity baseline on the held-out (latest) rows", () => {
    const data = generateSynthetic({ rows: 20_000, seed: 3 });
    const { report } = trainAndEvaluate(data, { train: { epochs: 5, seed: 1 } });
    expect(report.split).toBe("time");
    expect(report.test_rows).toBe(4000);
    expect(report.auc).toBeGreaterThan(report.baseline_auc + 0.05);
    expect(report.auc).toBeGreaterThan(0.65);
    expect(report.logloss).toBeLessThan(report.baseline_logloss);
    expect(formatReport(report)).toMatch(/\| model .*\n\| popularity baseline/);
  });

  it("holds out the most recent 20% by time", () => {
    const data = generateSynthetic({ rows: 1000, seed: 4 });
    data.ts!.reverse(); // newest first: the split must sort, not slice
    const { train, test } = holdoutSplit(data, { testFraction: 0.2 });
    expect(test.label.length).toBe(200);
    expect(Math.min(...test.ts!)).toBeGreaterThan(Math.max(...train.ts!));
  });

  it("the trainer's gradients agree with finite differences", () => {
    // Adam's first step moves every parameter by lr·sign(gradient) (m̂/√v̂ = g/|g|). Train one step on one
    // row and compare each parameter's move with the sign of a numerical gradient of the loss.
    const seed = 9;
    const x = randomInputs(1, 5);
    const row: Dataset = { ...x, label: Uint8Array.of(1) };
    const p0 = initParams(createRng(seed)); // train() draws its init first from the same seeded rng
    const p1 = train(row, { epochs: 1, batchSize: 1, learningRate: 1e-4, l2: 0, seed });
    const loss = (q: NetParams) => {
      const z = forwardRow(q, x.user, x.video, x.ctx, 0, newActivations());
      return Math.max(z, 0) - z + Math.log1p(Math.exp(-Math.abs(z)));
    };
    let checked = 0;
    for (const k of PARAM_NAMES) {
      for (let i = 0; i < p0[k].length; i++) {
        const h = 1e-2;
        const plus = { ...p0, [k]: p0[k].slice() };
        plus[k][i] += h;
        const minus = { ...p0, [k]: p0[k].slice() };
        minus[k][i] -= h;
        const g = (loss(plus) - loss(minus)) / (2 * h);
        if (Math.abs(g) < 1e-3) continue; // dead ReLU paths and float noise
        expect(Math.sign(p1[k][i] - p0[k][i]), `${k}[${i}]`).toBe(-Math.sign(g));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("exports ONNX that onnxruntime-node runs with the contract's names and shapes, matching the TS forward pass within 1e-5", async () => {
    const data = generateSynthetic({ rows: 3000, seed: 8 });
    const { params } = trainAndEvaluate(data, { train: { epochs: 3, seed: 2 } });
    const session = await ort.InferenceSession.create(exportOnnx(params, { note: "test" }));
    try {
      expect(session.inputNames).toEqual(["user", "video", "ctx"]);
      expect(session.outputNames).toEqual(["score"]);
      for (const n of [1, 7, 513]) {
        const x = randomInputs(n, n);
        const out = await session.run({
          user: new ort.Tensor("float32", x.user, [n, 16]),
          video: new ort.Tensor("float32", x.video, [n, 16]),
          ctx: new ort.Tensor("float32", x.ctx, [n, 4]),
        });
        expect(out.score.dims).toEqual([n, 1]);
        const ref = predict(params, x.user, x.video, x.ctx, n);
        const got = out.score.data as Float32Array;
        let maxDiff = 0;
        for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
        expect(maxDiff).toBeLessThan(1e-5);
      }
    } finally {
      await session.release();
    }
  });

  it("metrics: AUC handles ties and log-loss clips", () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75);
    expect(auc([0.5, 0.5], [0, 1])).toBeCloseTo(0.5);
    expect(Number.isNaN(auc([0.1, 0.2], [1, 1]))).toBe(true);
    expect(Number.isFinite(logLoss([0, 1], [1, 0]))).toBe(true);
  });

  it("scales default epochs down as data grows", () => {
    expect(defaultEpochs(1000)).toBe(20);
    expect(defaultEpochs(160_000)).toBeGreaterThanOrEqual(4);
    expect(defaultEpochs(160_000) * 160_000).toBeLessThanOrEqual(3_200_000);
  });
});
