import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LOCAL_UPSTASH_TOKEN, REGIONS, localPorts, profileDirName, regionDatabase, type LocalPorts, type Region } from "../shared/local-ports.ts";
import { devSecrets } from "./local/dev-secrets.ts";
import { startNeonProxy } from "./local/neon-ws-proxy.ts";
import { startPostgres } from "./local/postgres.ts";
import { archiveDir } from "./backup/store.ts";
import { prepareArchiveDir, walArchiveSettings } from "./backup/wal.ts";
import { seedWithReplication } from "./local/replication.ts";
import { ensureRedisInstalled, startRedis } from "./local/redis.ts";
import { type Managed, Supervisor, waitForHttp } from "./local/supervisor.ts";
import { startUpstashBridge } from "./local/upstash-bridge.ts";
import { EDGE_ENV_VARS, ORIGIN_ENV_VARS, ROOT, startEdge, startOrigin, startWeb, varsFromEnv, WORKER_RUNTIME } from "./local/workers.ts";
import { seedAll } from "./seed.ts";
import { createFaults, type Faults } from "./stack-faults.ts";

// The whole local stack, in dependency order: Postgres (+schema) → Redis ×3 → Upstash bridges ×3 →
// Neon WebSocket proxy → seed → model → ranking service → origins ×3 → edge. Used by `npm start` and by
// the test suite's global setup (profile "test": other ports, other data dir, smaller data set).

export interface StackOptions {
  profile: "dev" | "test";
  users: number;
  videos: number;
  interactionsPerUser?: number;
  seed?: number;
  log?: (line: string) => void;
  /** Extra edge vars (tests shrink RegionHealth and queue retry timings). */
  edgeVars?: Record<string, string>;
  /** Extra origin vars (e.g. a test stack's RANK_TIMEOUT_MS). For edge and origin vars alike, the ones
   * named in EDGE_ENV_VARS / ORIGIN_ENV_VARS that are set in the environment win over these. */
  originVars?: Record<string, string>;
}

type Awaited2<T> = T extends Promise<infer U> ? U : never;
export interface Stack {
  ports: LocalPorts;
  dataDir: string;
  secrets: typeof devSecrets;
  /** The API worker (edge/index.ts). */
  edgeUrl: string;
  /** The pages worker (web client at /, ops page at /ops; edge/web-worker.ts), forwarding API paths to edgeUrl. */
  webUrl: string;
  originUrl: Record<Region, string>;
  rankingUrl: string;
  upstashUrl: Record<Region, string>;
  pgUrl: (region: Region) => string;
  postgres: Awaited2<ReturnType<typeof startPostgres>>;
  redis: Record<Region, Awaited2<ReturnType<typeof startRedis>>>;
  supervisor: Supervisor;
  ranking: Managed;
  origins: Record<Region, Managed>;
  edge: Managed;
  web: Managed;
  faults: Faults;
  stop(): Promise<void>;
}

/**
 * Origin vars every local stack sets unless the caller or the environment says otherwise: the seed's 5 ms
 * per feature-store try (Redis feature reads) assumes Upstash next to the origin; through the local REST
 * bridge on a shared 2-core box 21–55% of reads failed all 3 tries at 5 ms and none at 50 ms from Node
 * (bench/retry-tries.ts); on the stack (bench/retry-stack.ts) the origins' Redis error rate was 3–6% with
 * level-2 flickers at 5 ms, 0% at 50 ms. Retries and backoff stay the seed's; RETRY_FEATURE_STORE_TRY_MS=5
 * runs the production value.
 */
export const LOCAL_ORIGIN_VARS: Record<string, string> = { RETRY_FEATURE_STORE_TRY_MS: "50" };

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const ports = localPorts(opts.profile);
  const dataDir = join(ROOT, ".local", profileDirName(opts.profile));
  const logDir = join(dataDir, "logs");
  mkdirSync(logDir, { recursive: true });
  // The server's own log (startup, crash recovery after a chaos SIGKILL), restarts included.
  const pgLog = createWriteStream(join(logDir, "postgres.log"), { flags: "a" });
  const pgOptions = { dataDir: join(dataDir, "pg"), port: ports.postgres, log: (l: string) => void pgLog.write(`${l}\n`),
    // User data backed up continuously: every WAL segment archived (npm run backup -- --list shows it).
    settings: walArchiveSettings(prepareArchiveDir(archiveDir(join(dataDir, "backups")))) };
  const sup = new Supervisor();
  const closers: (() => Promise<unknown>)[] = [() => new Promise((r) => pgLog.end(r))]; // runs last
  const t0 = Date.now();
  const step = async <T>(n: number, what: string, f: () => Promise<T>): Promise<T> => {
    const s = Date.now();
    log(`[${n}/9] ${what} …`);
    const r = await f();
    log(`[${n}/9] ${what} ✓ (${((Date.now() - s) / 1000).toFixed(1)} s)`);
    return r;
  };
  const stopAll = async () => {
    await sup.stopAll();
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const postgres = await step(1, `postgres on :${ports.postgres} (3 region databases, 64 partitions / 8 shards)`, () =>
      startPostgres(pgOptions),
    );
    closers.push(() => postgres.stop());
    const pgUrl = (r: Region) => postgres.url(regionDatabase(r));

    const redis = await step(2, `redis-server ×3 on :${Object.values(ports.redis).join(", :")}`, async () => {
      await ensureRedisInstalled();
      const out = {} as Record<Region, Awaited2<ReturnType<typeof startRedis>>>;
      for (const r of REGIONS) {
        out[r] = await startRedis({ port: ports.redis[r], dir: join(dataDir, `redis-${r}`), name: `redis-${r}` });
        closers.push(() => out[r].stop());
      }
      return out;
    });

    await step(3, `Upstash REST bridges on :${Object.values(ports.upstash).join(", :")} and Neon WebSocket proxy on :${ports.neonProxy}`, async () => {
      for (const r of REGIONS) {
        const b = await startUpstashBridge({ port: ports.upstash[r], redisPort: ports.redis[r], token: LOCAL_UPSTASH_TOKEN });
        closers.push(() => b.close());
      }
      const p = await startNeonProxy({ port: ports.neonProxy });
      closers.push(() => p.close());
    });

    await step(4, `synthetic data (${opts.users} users, ${opts.videos} videos)`, () =>
      // Catalogue replication between the region databases is paused around the seed, then (re)started.
      seedWithReplication(ports.postgres, () => seedAll({ pgPort: ports.postgres, users: opts.users, videos: opts.videos, interactionsPerUser: opts.interactionsPerUser, seed: opts.seed ?? 42, log }), log),
    );

    const modelDir = join(dataDir, "models");
    await step(5, "ranking model", async () => {
      const have = existsSync(modelDir) && readdirSync(modelDir).some((f) => f.endsWith(".onnx"));
      if (have) return log("      model registry already has a model; skipping training (npm run train retrains)");
      const m = sup.start("train", process.execPath, [join(ROOT, "gpu-inference/train/cli.ts"), "--pg-port", String(ports.postgres)], {
        cwd: ROOT, logFile: join(logDir, "train.log"), env: { MODEL_DIR: modelDir },
      });
      const code = await m.exited;
      if (code !== 0) throw new Error(`training failed (exit ${code}); see ${m.logFile}`);
    });

    const rankingUrl = `http://127.0.0.1:${ports.ranking}`;
    const startRanking = async () => {
      const m = sup.start("ranking", process.execPath, [join(ROOT, "gpu-inference/server.ts")], {
        cwd: ROOT, logFile: join(logDir, "ranking.log"),
        // The video feature table loads from a region database: the catalogue is global (replicated), so
        // one local ranking service serves every region's origin (production: one per region, its own database).
        env: { PORT: String(ports.ranking), MODEL_DIR: modelDir, INTERNAL_SECRET: devSecrets.INTERNAL_SECRET, RANK_REQUIRE_SECRET: "true", FEATURE_DATABASE_URL: pgUrl("us") },
      });
      await waitForHttp(`${rankingUrl}/readyz`, { timeoutMs: 60_000, what: "ranking service", exited: m.exited });
      return m;
    };
    const ranking = await step(6, `ranking service on :${ports.ranking}`, startRanking);

    // Test and bench stacks start with empty edge state (Cache API, KV, Durable Objects, queues): a page
    // cached by an earlier run, or a forced level left in KV by an aborted one, must not leak into the
    // next run's results. `npm start` (dev) keeps its state across restarts.
    if (opts.profile === "test") rmSync(join(dataDir, "wrangler"), { recursive: true, force: true });
    const launch = { sup, stateDir: join(dataDir, "wrangler"), registryDir: join(dataDir, "wrangler-registry"), logDir };
    const originUrl = {} as Record<Region, string>;
    const upstashUrl = {} as Record<Region, string>;
    // `vars`: a restart's own values (the chaos suite restarts the origins with production ones); they win.
    const startRegionOrigin = (r: Region, vars: Record<string, string> = {}) =>
      startOrigin(launch, r, ports.origin[r], {
        DATABASE_URL: pgUrl(r), NEON_WS_PROXY: `127.0.0.1:${ports.neonProxy}`, UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${ports.upstash[r]}`,
        UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN, RANKING_URL: rankingUrl,
        INTERNAL_SECRET: devSecrets.INTERNAL_SECRET, CURSOR_SECRET: devSecrets.CURSOR_SECRET,
        // Production values (origin/env.ts: RANK_TIMEOUT_MS 40 …) unless the caller or the environment sets them,
        // except the feature-store row's per-try timeout: LOCAL_ORIGIN_VARS.
        ...LOCAL_ORIGIN_VARS, ...opts.originVars, ...varsFromEnv(ORIGIN_ENV_VARS), ...vars,
      });
    const origins = await step(7, `origin workers (${WORKER_RUNTIME === "miniflare" ? "Miniflare" : "wrangler dev"}) on :${Object.values(ports.origin).join(", :")}`, async () => {
      const out = {} as Record<Region, Managed>;
      await Promise.all(
        REGIONS.map(async (r) => {
          originUrl[r] = `http://127.0.0.1:${ports.origin[r]}`;
          upstashUrl[r] = `http://127.0.0.1:${ports.upstash[r]}`;
          out[r] = await startRegionOrigin(r);
        }),
      );
      return out;
    });

    const edgeUrl = `http://127.0.0.1:${ports.edge}`;
    const webUrl = `http://127.0.0.1:${ports.web}`;
    // The API worker and the pages worker (edge/web-worker.ts; it forwards the API's paths to the API worker).
    const [edge, web] = await step(8, `edge workers (${WORKER_RUNTIME === "miniflare" ? "Miniflare" : "wrangler dev"}): API on :${ports.edge}, pages on :${ports.web}`, () =>
      Promise.all([
        startEdge(launch, ports.edge, {
          ORIGIN_US_URL: originUrl.us, ORIGIN_EU_URL: originUrl.eu, ORIGIN_APAC_URL: originUrl.apac, ALLOW_REGION_OVERRIDE: "1", CLIENT_RATE_LIMIT: "off",
          SESSION_SECRET: devSecrets.SESSION_SECRET, ADMIN_TOKEN: devSecrets.ADMIN_TOKEN, INTERNAL_SECRET: devSecrets.INTERNAL_SECRET,
          ...opts.edgeVars, ...varsFromEnv(EDGE_ENV_VARS),
        }),
        startWeb(launch, ports.web, { API_ORIGIN: edgeUrl }),
      ]),
    );

    await step(9, "end-to-end check (anonymous feed through the edge) and trending pre-warm", async () => {
      await waitForHttp(`${edgeUrl}/v1/feed?count=1`, { timeoutMs: 60_000, what: "edge feed" });
      const res = await fetch(`${edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: { authorization: `Bearer ${devSecrets.ADMIN_TOKEN}` } });
      log(`      pre-warm: ${res.status} ${(await res.text()).slice(0, 160)}`);
    });
    log(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${logDir}`);
    const faults = createFaults({
      sup, redis, origins, postgres: { current: postgres, restart: () => startPostgres(pgOptions) },
      ranking: { current: ranking, restart: startRanking }, startOrigin: startRegionOrigin,
    });
    closers.push(() => faults.stopRestarted());
    return {
      ports, dataDir, secrets: devSecrets, edgeUrl, webUrl, originUrl, rankingUrl, upstashUrl, pgUrl, postgres, redis,
      supervisor: sup, ranking, origins, edge, web, faults, stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
