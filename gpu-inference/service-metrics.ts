// The ranking service's metric set (names fixed by DESIGN.md §2, plus batching/reload counters that
// make micro-batching observable: batches_total < requests_total is the batching working).
import { Counter, Gauge, Histogram, MetricsRegistry, SlidingWindow } from "./metrics.ts";

export interface ServiceMetricsSources {
  queueRows: () => number;
  outstandingRows: () => number;
  modelVersion: () => string | null;
  modelAuc: () => { auc: number | null; baseline: number | null };
  /** The video feature table (gpu-inference/feature-refresh.ts); null when the service runs without one. */
  featureTable?: () => { version: string | null; rows: number; bytes: number } | null;
}

export function createServiceMetrics(src: ServiceMetricsSources) {
  const registry = new MetricsRegistry();
  const p99Window = new SlidingWindow(60_000, 8192);
  const requests = registry.add(new Counter("fyp_rank_requests_total", "Rank requests by HTTP status"));
  const latency = registry.add(
    new Histogram("fyp_rank_latency_ms", "End-to-end /v1/rank handler latency (ms)", [1, 2, 5, 10, 15, 25, 40, 50, 75, 100, 250, 500, 1000, 2500]),
  );
  const batchSize = registry.add(
    new Histogram("fyp_rank_batch_size", "Rows per session.run", [1, 16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384]),
  );
  const batches = registry.add(new Counter("fyp_rank_batches_total", "session.run calls (micro-batches)"));
  const inferMs = registry.add(new Histogram("fyp_rank_infer_ms", "session.run time per batch (ms)", [0.5, 1, 2, 5, 10, 25, 50, 100, 250]));
  const reloads = registry.add(new Counter("fyp_model_reloads_total", "Model hot-reload attempts by result"));
  const nonFiniteScores = registry.add(
    new Counter("fyp_rank_nonfinite_scores_total", "Scores the model returned as NaN/Infinity for in-range inputs (served as 0)"),
  );
  const featureMisses = registry.add(
    new Counter("fyp_rank_feature_misses_total", "Candidate ids of by-ids requests the feature table did not hold (scored from the cold item features)"),
  );
  const featureRefreshes = registry.add(new Counter("fyp_rank_feature_refresh_total", "Feature table operations by kind (full|incremental|fetch) and result"));
  const featureTable = () => src.featureTable?.() ?? null;
  registry.add(new Gauge("fyp_rank_feature_table_rows", "Active videos in the feature table", () => featureTable()?.rows ?? 0));
  registry.add(new Gauge("fyp_rank_feature_table_bytes", "Bytes of the feature table's arrays and indexes", () => featureTable()?.bytes ?? 0));
  registry.add(
    new Gauge("fyp_rank_feature_table_info", "Serving feature table version (value 1)", () => {
      const v = featureTable()?.version;
      return v ? [{ labels: { version: v }, value: 1 }] : [];
    }),
  );
  registry.add(new Gauge("process_resident_memory_bytes", "Resident set size of the service process (model + feature table + runtime)", () => process.memoryUsage.rss()));
  registry.add(new Gauge("fyp_latency_p99_ms", "p99 of rank latency over the last 60 s (HPA metric)", () => p99Window.quantile(0.99)));
  registry.add(new Gauge("fyp_rank_queue_rows", "Candidate rows waiting for a batch", src.queueRows));
  registry.add(new Gauge("fyp_rank_outstanding_rows", "Rows admitted and not yet answered (bounded by RANK_MAX_QUEUE_ROWS)", src.outstandingRows));
  registry.add(
    new Gauge("fyp_model_info", "Currently served model version (value 1)", () => {
      const v = src.modelVersion();
      return v ? [{ labels: { version: v }, value: 1 }] : [];
    }),
  );
  registry.add(
    new Gauge("fyp_model_auc", "Held-out AUC of the served model next to the popularity baseline", () => {
      const a = src.modelAuc();
      const rows: Array<{ labels: Record<string, string>; value: number }> = [];
      if (a.auc !== null) rows.push({ labels: { model: "current" }, value: a.auc });
      if (a.baseline !== null) rows.push({ labels: { model: "popularity_baseline" }, value: a.baseline });
      return rows;
    }),
  );

  return {
    registry,
    requests,
    batches,
    reloads,
    nonFiniteScores,
    featureMisses,
    featureRefreshes,
    observeRequest(status: number, ms: number): void {
      requests.inc({ status: String(status) });
      if (status === 200) {
        latency.observe(ms);
        p99Window.add(ms);
      }
    },
    observeBatch(rows: number, ms: number): void {
      batches.inc();
      batchSize.observe(rows);
      inferMs.observe(ms);
    },
  };
}

export type ServiceMetrics = ReturnType<typeof createServiceMetrics>;
