// Ranking service configuration: environment variables, validated with zod so a typo fails at startup
// with the variable's name rather than as odd behaviour under load.
import { z } from "zod";
import { DEFAULT_MODEL_DIR } from "./registry.ts";

export const BACKENDS = ["cpu", "cuda", "wasm"] as const;
export type BackendKind = (typeof BACKENDS)[number];

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
// z.coerce.boolean() would read "false" as true; env flags are spelled true/false/1/0.
const bool = (def: boolean) =>
  z.preprocess((v) => (typeof v === "string" ? ["1", "true", "yes"].includes(v.trim().toLowerCase()) : v), z.boolean()).default(def);

export const RankingConfigSchema = z.object({
  port: int(8790, 0, 65535), // 0 = pick a free port (tests)
  host: z.string().min(1).default("127.0.0.1"),
  modelDir: z.string().min(1).default(DEFAULT_MODEL_DIR),
  backend: z.enum(BACKENDS).default("cpu"),
  maxBatchRows: int(16_384, 1, 1 << 20), // three 5,000-candidate requests share one run
  // 0: a request arriving at an idle service runs at once; requests that arrive while a batch runs form the
  // next one (greedy batching). Measured under load (concurrency 64) the batches and req/s match a 2 ms
  // wait, and a lone request no longer waits 2 ms for company that is not coming (bench/rank.bench.ts).
  maxWaitMs: z.coerce.number().min(0).max(1000).default(0),
  maxQueueRows: int(65_536, 1, 1 << 24),
  // 1: one inference thread (the Node main thread's). The model is tiny (5,000 rows ≈ 0.6 ms on one core),
  // and onnxruntime's default pool (one spinning thread per core) took the CPU the HTTP handling needs:
  // a 5,000-candidate call went from p50 ~20 ms to ~5 ms with 1 on the shared 2-core box (bench/rank.bench.ts),
  // as under a pod's CPU limit. 0 = onnxruntime's default.
  intraOpThreads: int(1, 0, 256),
  modelPollMs: int(2000, 10, 3_600_000),
  internalSecret: z.string().min(1).default("dev-internal-secret"),
  // /v1/rank behind x-internal-secret too (origins send it). Default on; tests and local tools that talk
  // to a private instance may turn it off. The admin endpoints always require it.
  requireSecret: bool(true),
  faultDelayMs: z.coerce.number().min(0).max(60_000).default(0),
  faultFailRate: z.coerce.number().min(0).max(1).default(0),
  drainTimeoutMs: int(10_000, 0, 600_000), // graceful shutdown bound
  maxBodyBytes: int(32 * 1024 * 1024, 1024, 1 << 30),
  // Video feature table (gpu-inference/feature-refresh.ts): the region database, or a snapshot file; neither
  // = no table (by-ids requests answer 503, the columnar form still works).
  featureDatabaseUrl: z.string().min(1).optional(),
  featureSnapshot: z.string().min(1).optional(),
  featureRefreshMs: int(10_000, 0, 3_600_000), // new videos are rankable from the table within this
  featureFullReloadMs: int(1_800_000, 0, 86_400_000),
  featureOverlapMs: int(60_000, 0, 3_600_000), // re-read window for late (replicated) changes
});

export type RankingConfig = z.infer<typeof RankingConfigSchema>;

const ENV_KEYS: Record<keyof RankingConfig, string> = {
  port: "PORT",
  host: "HOST",
  modelDir: "MODEL_DIR",
  backend: "RANK_BACKEND",
  maxBatchRows: "RANK_MAX_BATCH_ROWS",
  maxWaitMs: "RANK_MAX_WAIT_MS",
  maxQueueRows: "RANK_MAX_QUEUE_ROWS",
  intraOpThreads: "RANK_INTRA_OP_THREADS",
  modelPollMs: "MODEL_POLL_MS",
  internalSecret: "INTERNAL_SECRET",
  requireSecret: "RANK_REQUIRE_SECRET",
  faultDelayMs: "RANK_FAULT_DELAY_MS",
  faultFailRate: "RANK_FAULT_FAIL_RATE",
  drainTimeoutMs: "RANK_DRAIN_TIMEOUT_MS",
  maxBodyBytes: "RANK_MAX_BODY_BYTES",
  featureDatabaseUrl: "FEATURE_DATABASE_URL",
  featureSnapshot: "FEATURE_SNAPSHOT",
  featureRefreshMs: "FEATURE_REFRESH_MS",
  featureFullReloadMs: "FEATURE_FULL_RELOAD_MS",
  featureOverlapMs: "FEATURE_REFRESH_OVERLAP_MS",
};

/** Builds a config from explicit values, filling defaults; throws a readable error on bad values. */
export function rankingConfig(values: Partial<Record<keyof RankingConfig, unknown>> = {}): RankingConfig {
  const r = RankingConfigSchema.safeParse(values);
  if (!r.success) {
    const msg = r.error.issues
      .map((i) => {
        const key = String(i.path[0]) as keyof RankingConfig;
        return `${ENV_KEYS[key] ?? key}: ${i.message}`;
      })
      .join("; ");
    throw new Error(`invalid ranking config: ${msg}`);
  }
  return r.data;
}

/** Reads the config from environment variables (empty strings count as unset). */
export function rankingConfigFromEnv(env: Record<string, string | undefined> = process.env): RankingConfig {
  const values: Partial<Record<keyof RankingConfig, unknown>> = {};
  for (const [key, name] of Object.entries(ENV_KEYS) as [keyof RankingConfig, string][]) {
    const v = env[name];
    if (v !== undefined && v !== "") values[key] = v;
  }
  return rankingConfig(values);
}
