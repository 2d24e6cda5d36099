// Export a trained network to ONNX and register it as a new version. One place for "what metadata a
// version carries", shared by the training CLI and the quick synthetic models of tests/bench.
import { FEATURE_ABS_MAX } from "../../shared/rank-contract.ts";
import { exportOnnx } from "../model/onnx-export.ts";
import { maxAbsActivation, paramsFinite, type NetParams } from "../model/network.ts";
import { ModelRegistry, type ModelMeta } from "../registry.ts";
import type { EvalReport } from "./pipeline.ts";

export interface PublishOptions {
  dataWindow: { from: string | null; to: string | null; source?: string };
  training?: Record<string, string | number | boolean>;
  makeCurrent?: boolean;
}

/** A model that must not be registered: non-finite weights, or weights that can overflow float32. */
export class UnpublishableModelError extends Error {
  override name = "UnpublishableModelError";
}

/**
 * Exports and registers a trained model. Rejects (UnpublishableModelError) weights that are not finite or
 * whose worst-case activation over the accepted input range (|x| ≤ FEATURE_ABS_MAX) overflows float32;
 * the registry itself refuses non-finite AUC/log-loss (ModelRegistry.register).
 */
export async function publishModel(dir: string, params: NetParams, report: EvalReport, o: PublishOptions): Promise<ModelMeta> {
  if (!paramsFinite(params)) throw new UnpublishableModelError("model weights contain NaN/Infinity (training diverged); not registering it");
  if (!Number.isFinite(maxAbsActivation(params, FEATURE_ABS_MAX))) {
    throw new UnpublishableModelError(`model weights can overflow float32 for inputs within ±${FEATURE_ABS_MAX}; not registering it`);
  }
  // The same facts go into the ONNX metadata_props, so a model file copied out of the registry still
  // says where it came from.
  const props: Record<string, string> = {
    auc: String(report.auc),
    baseline_auc: String(report.baseline_auc),
    rows: String(report.rows),
    data_from: o.dataWindow.from ?? "",
    data_to: o.dataWindow.to ?? "",
    source: o.dataWindow.source ?? "",
  };
  return new ModelRegistry(dir).register(
    exportOnnx(params, props),
    {
      auc: report.auc,
      logloss: report.logloss,
      baseline_auc: report.baseline_auc,
      baseline_logloss: report.baseline_logloss,
      rows: report.rows,
      data_window: o.dataWindow,
      training: { split: report.split, train_rows: report.train_rows, test_rows: report.test_rows, positive_rate: report.positive_rate, train_ms: report.train_ms, ...o.training },
    },
    { makeCurrent: o.makeCurrent },
  );
}
