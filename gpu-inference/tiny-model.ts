// Quick models for tests, bench and first boot: train on a small in-memory synthetic set (well under a
// second) and register it, so a ranking service always has something real to serve.
import { ModelRegistry, type ModelMeta } from "./registry.ts";
import { trainAndEvaluate } from "./train/pipeline.ts";
import { publishModel } from "./train/publish.ts";
import { generateSynthetic } from "./train/synthetic.ts";

export interface TinyModelOptions {
  rows?: number; // default 2000
  epochs?: number; // default 4
  seed?: number; // default 1; different seeds give different weights (and versions)
  makeCurrent?: boolean; // default true
}

/** Trains a small synthetic model and registers it as a new version. */
export async function registerSyntheticModel(dir: string, o: TinyModelOptions = {}): Promise<ModelMeta> {
  const seed = o.seed ?? 1;
  const data = generateSynthetic({ rows: o.rows ?? 2000, seed });
  const { params, report } = trainAndEvaluate(data, { train: { epochs: o.epochs ?? 4, seed } });
  return publishModel(dir, params, report, {
    dataWindow: { from: null, to: null, source: `synthetic(seed=${seed})` },
    makeCurrent: o.makeCurrent,
  });
}

/** Returns the current model of `dir`, creating a tiny synthetic one first if the registry is empty. */
export async function exportTinyModelIfMissing(dir: string, o: TinyModelOptions = {}): Promise<ModelMeta> {
  const current = await new ModelRegistry(dir).current();
  return current ?? registerSyntheticModel(dir, o);
}
