// Ranking service entry: `node gpu-inference/server.ts` (config from env) or, in-process,
// `await startRankingServer({ port: 0, modelDir })`. Startup proves the configured backend works (a
// missing CUDA provider is a startup error, not a silent CPU fallback), then loads the registry's current
// model if there is one; /readyz turns 200 once a model is loaded and the poller keeps it current.
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { createRankApp } from "./app.ts";
import { rankFastPath } from "./rank-listener.ts";
import { assertFiniteOutputs, createScorer, probeBackend } from "./backends.ts";
import { MicroBatcher } from "./batcher.ts";
import { rankingConfig, rankingConfigFromEnv, type RankingConfig } from "./config.ts";
import { FaultInjector } from "./fault.ts";
import { ModelHolder } from "./model-holder.ts";
import { ModelRegistry } from "./registry.ts";
import { createServiceMetrics } from "./service-metrics.ts";
import { FeatureTableHolder } from "./feature-refresh.ts";
import { postgresFeatureSource, type FeatureSource } from "./feature-source.ts";
import { snapshotFeatureSource } from "./feature-snapshot.ts";

export interface RankingServer {
  port: number;
  url: string;
  config: RankingConfig;
  /** Stops accepting work, drains admitted requests (bounded by drainTimeoutMs), closes the listener. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Operational log lines (model swaps, startup); defaults to stdout with a [rank] prefix. */
  log?: (msg: string) => void;
}

export async function startRankingServer(input: Partial<RankingConfig> = {}, opts: StartOptions = {}): Promise<RankingServer> {
  const config = rankingConfig(input);
  const log = opts.log ?? ((msg: string) => console.log(`[rank] ${msg}`));
  const backendOpts = { backend: config.backend, intraOpThreads: config.intraOpThreads };
  await probeBackend(backendOpts);

  const registry = new ModelRegistry(config.modelDir);
  const features = featureHolder(config, log, (kind, ok) => metrics.featureRefreshes.inc({ kind, result: ok ? "ok" : "error" }));
  const fault = new FaultInjector({ delay_ms: config.faultDelayMs, fail_rate: config.faultFailRate });
  // Gauges read batcher/holder at scrape time; the closures run only after both exist.
  const metrics = createServiceMetrics({
    queueRows: () => batcher.queuedRows,
    outstandingRows: () => batcher.outstandingRows,
    modelVersion: () => holder.meta?.version ?? null,
    modelAuc: () => ({ auc: holder.meta?.auc ?? null, baseline: holder.meta?.baseline_auc ?? null }),
    featureTable: () => (features ? features.status : null),
  });
  const holder = new ModelHolder(registry, {
    pollMs: config.modelPollMs,
    // A model that overflows at the edge of the accepted input range is refused; the old one keeps serving.
    load: async (bytes) => {
      const scorer = await createScorer(bytes, backendOpts);
      try {
        await assertFiniteOutputs(scorer);
      } catch (e) {
        await scorer.release().catch(() => undefined);
        throw e;
      }
      return scorer;
    },
    log,
    onReload: (ok) => {
      metrics.reloads.inc({ result: ok ? "ok" : "error" });
      // A new model gets a fresh table generation (its features as of now); the first load is start()'s.
      if (ok && features?.table) void features.reloadFull().catch(() => undefined);
    },
  });
  const batcher = new MicroBatcher({
    maxBatchRows: config.maxBatchRows,
    maxWaitMs: config.maxWaitMs,
    maxQueueRows: config.maxQueueRows,
    onBatch: (rows, ms) => metrics.observeBatch(rows, ms),
    onNonFinite: (count) => {
      metrics.nonFiniteScores.inc(undefined, count);
      log(`model ${holder.meta?.version ?? "?"} returned ${count} non-finite score(s) for in-range inputs; served as 0`);
    },
    run: async (batch) => {
      await fault.delay(); // chaos hook: "the model got slow" (0 by default)
      const lease = holder.acquire();
      if (!lease) throw new Error("no model loaded");
      try {
        return { scores: await lease.scorer.run(batch), modelVersion: lease.version };
      } finally {
        lease.release();
      }
    },
  });
  await holder.start();
  if (!holder.ready) log(`no model in ${registry.dir} yet; /readyz is 503 until one is registered`);
  await features?.start();

  let draining = false;
  const deps = { config, holder, batcher, metrics, fault, features, draining: () => draining };
  const app = createRankApp(deps);
  // POST /v1/rank on node:http directly, the rest through Hono (gpu-inference/rank-listener.ts).
  const server = createServer(rankFastPath(deps, getRequestListener(app.fetch)));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  // Keep-alive longer than typical client pools' idle timeouts avoids racing a closing socket.
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  log(`listening on http://${config.host}:${port} backend=${config.backend} model=${holder.meta?.version ?? "(none)"}`);

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      const drained = batcher.drain();
      const timeout = new Promise<void>((r) => setTimeout(r, config.drainTimeoutMs).unref());
      await Promise.race([drained, timeout]);
      await holder.stop();
      await features?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Responses already being written get a moment; anything still open after that is cut.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
    })());

  return { port, url: `http://${config.host}:${port}`, config, close };
}

/** The feature table holder for the configured source (database first, else snapshot); null without one. */
function featureHolder(config: RankingConfig, log: (msg: string) => void, onRefresh: (kind: string, ok: boolean) => void): FeatureTableHolder | null {
  let source: FeatureSource | null = null;
  if (config.featureDatabaseUrl) source = postgresFeatureSource({ connectionString: config.featureDatabaseUrl, overlapMs: config.featureOverlapMs });
  else if (config.featureSnapshot) source = snapshotFeatureSource(config.featureSnapshot);
  if (!source) return null;
  return new FeatureTableHolder({ source, refreshMs: config.featureRefreshMs, fullReloadMs: config.featureFullReloadMs, log, onRefresh });
}

async function main(): Promise<void> {
  const config = rankingConfigFromEnv();
  const srv = await startRankingServer(config);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[rank] ${sig}: draining in-flight work`);
    srv.close().then(
      () => process.exit(0),
      (e) => {
        console.error(`[rank] shutdown error: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (import.meta.main) {
  main().catch((e) => {
    console.error(`[rank] startup failed: ${(e as Error).message}`);
    process.exit(1);
  });
}
