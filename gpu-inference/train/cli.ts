// `npm run train` — train the engagement model on the seeded interactions of the three regional
// databases, compare it with a popularity baseline on held-out (most recent 20%) rows, and register it.
//
//   node gpu-inference/train/cli.ts [--pg-port 54329] [--pg-host 127.0.0.1] [--regions us,eu,apac]
//                                   [--epochs N] [--seed 42] [--model-dir DIR]
//
// Exit codes: 0 registered · 1 data/IO problem (unreachable or empty DB…) or training diverged · 2 the
// model does not beat the popularity baseline's AUC, or a held-out metric is not finite (nothing is
// registered: a worse or NaN model must never become current).
import { parseArgs } from "node:util";
import { localPorts } from "../../shared/local-ports.ts";
import { DEFAULT_MODEL_DIR, ModelRegistry, unregistrableMetric } from "../registry.ts";
import { LABEL_RULE, TrainingDataError, loadDataset } from "./db-source.ts";
import { formatReport, trainAndEvaluate } from "./pipeline.ts";
import { UnpublishableModelError, publishModel } from "./publish.ts";
import { TrainingDivergedError } from "./trainer.ts";

const USAGE = `usage: node gpu-inference/train/cli.ts [--pg-port N] [--pg-host H] [--regions us,eu,apac]
       [--epochs N] [--seed N] [--model-dir DIR]`;

/** Passes over the data scale down as it grows: ~3M row-passes keep training to a few seconds per 100k rows. */
export function defaultEpochs(trainRows: number): number {
  return Math.min(20, Math.max(4, Math.round(3_000_000 / Math.max(1, trainRows))));
}

function intFlag(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TrainingDataError(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "pg-port": { type: "string" },
      "pg-host": { type: "string" },
      regions: { type: "string" },
      epochs: { type: "string" },
      seed: { type: "string" },
      "model-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = intFlag(values["pg-port"] ?? process.env.PG_PORT, "pg-port", localPorts("dev").postgres);
  const seed = intFlag(values.seed, "seed", 42);
  const modelDir = values["model-dir"] ?? process.env.MODEL_DIR ?? DEFAULT_MODEL_DIR;
  const regions = (values.regions ?? "us,eu,apac").split(",").map((r) => r.trim()).filter(Boolean);
  const log = (m: string) => console.log(m);

  const t0 = performance.now();
  log(`[train] reading interactions from ${regions.map((r) => `fyp_${r}`).join(", ")} on ${values["pg-host"] ?? "127.0.0.1"}:${port}`);
  const { data, window, perRegion } = await loadDataset({ host: values["pg-host"], port, regions, log });
  const n = data.label.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += data.label[i];
  log(`[train] ${n} impressions (${pos} engaged, ${n - pos} not) from ${window.from} to ${window.to}; label = ${LABEL_RULE}`);
  if (n < 50 || pos === 0 || pos === n) {
    throw new TrainingDataError(`need at least 50 impressions with both labels, got ${n} (${pos} positive)`);
  }

  const epochs = intFlag(values.epochs, "epochs", defaultEpochs(Math.round(n * 0.8)));
  const { params, report } = trainAndEvaluate(data, {
    split: { mode: "time", testFraction: 0.2 },
    train: { epochs, seed, onEpoch: (e, loss) => log(`[train] epoch ${e + 1}/${epochs} train log-loss ${loss.toFixed(4)}`) },
  });
  log("");
  log(formatReport(report));
  log("");

  const badMetric = unregistrableMetric(report);
  if (badMetric) {
    console.error(`[train] ${badMetric}; not registering it`);
    return 2;
  }
  if (!(report.auc > report.baseline_auc)) {
    console.error(
      `[train] model AUC ${report.auc.toFixed(4)} does not beat the popularity baseline ${report.baseline_auc.toFixed(4)}; not registering it`,
    );
    return 2;
  }
  const meta = await publishModel(modelDir, params, report, {
    dataWindow: { ...window, source: `postgres:${port}/${regions.map((r) => `fyp_${r}`).join("+")}` },
    training: { epochs, seed, label: LABEL_RULE, ...Object.fromEntries(Object.entries(perRegion).map(([r, c]) => [`rows_${r}`, c])) },
  });
  const reg = new ModelRegistry(modelDir);
  log(`[train] registered ${meta.version} as current in ${reg.dir} (${Math.round(performance.now() - t0)} ms total)`);
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      // Operator-facing failures print one clear line; anything else keeps its stack for debugging.
      const code = (e as { code?: string }).code ?? "";
      if (code.startsWith("ERR_PARSE_ARGS")) console.error(`[train] ${(e as Error).message}\n${USAGE}`);
      else {
        const plain = e instanceof TrainingDataError || e instanceof TrainingDivergedError || e instanceof UnpublishableModelError;
        console.error(`[train] failed: ${plain ? (e as Error).message : ((e as Error).stack ?? String(e))}`);
      }
      process.exit(1);
    },
  );
}
