// Train → evaluate on held-out data next to the popularity baseline → (optionally) register.
// The report is what the registry stores per version and what `npm run train` prints.
import { predict, type NetParams } from "../model/network.ts";
import { auc, logLoss } from "./metrics.ts";
import { baselineScores, fitCalibration, popularityFeature } from "./baseline.ts";
import { datasetSize, holdoutSplit, type Dataset, type SplitOptions } from "./dataset.ts";
import { train, type TrainOptions } from "./trainer.ts";

export interface EvalReport {
  auc: number;
  logloss: number;
  baseline_auc: number;
  baseline_logloss: number;
  rows: number;
  train_rows: number;
  test_rows: number;
  positive_rate: number;
  split: "time" | "random";
  train_ms: number;
}

export interface TrainResult {
  params: NetParams;
  report: EvalReport;
}

export function trainAndEvaluate(d: Dataset, opts: { train?: TrainOptions; split?: SplitOptions } = {}): TrainResult {
  const { train: tr, test: te, mode } = holdoutSplit(d, opts.split);
  const t0 = performance.now();
  const params = train(tr, opts.train);
  const train_ms = performance.now() - t0;

  const nTest = datasetSize(te);
  const scores = predict(params, te.user, te.video, te.ctx, nTest);
  const cal = fitCalibration(popularityFeature(tr), tr.label);
  const base = baselineScores(te, cal);
  let pos = 0;
  for (let i = 0; i < d.label.length; i++) pos += d.label[i];
  return {
    params,
    report: {
      auc: auc(scores, te.label),
      logloss: logLoss(scores, te.label),
      // Ranking by the raw views feature: the calibration is monotonic, so this is the same AUC.
      baseline_auc: auc(popularityFeature(te), te.label),
      baseline_logloss: logLoss(base, te.label),
      rows: datasetSize(d),
      train_rows: datasetSize(tr),
      test_rows: nTest,
      positive_rate: pos / Math.max(1, d.label.length),
      split: mode,
      train_ms: Math.round(train_ms),
    },
  };
}

/** Plain-text comparison table (what the CLI prints). */
export function formatReport(r: EvalReport): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "n/a");
  const rows = [
    ["", "AUC", "log-loss"],
    ["model", f(r.auc), f(r.logloss)],
    ["popularity baseline", f(r.baseline_auc), f(r.baseline_logloss)],
    ["lift", f(r.auc - r.baseline_auc), f(r.baseline_logloss - r.logloss)],
  ];
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ")} |`;
  const sep = `|${w.map((x) => "-".repeat(x + 2)).join("|")}|`;
  return [
    line(rows[0]), sep, ...rows.slice(1).map(line),
    `rows ${r.rows} (train ${r.train_rows}, held-out ${r.test_rows}, ${r.split} split), ` +
      `positive rate ${(r.positive_rate * 100).toFixed(1)}%, trained in ${r.train_ms} ms`,
  ].join("\n");
}
