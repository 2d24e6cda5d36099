import { join } from "node:path";
import { TIMING_ENV_VARS } from "../../edge/region-health-config.ts";
import type { Region } from "../../shared/local-ports.ts";
import { type Managed, Supervisor, waitForHttp } from "./supervisor.ts";

// The edge and the three regional origins, each under its own `wrangler dev` (workerd), wired to the
// local services with --var so wrangler.toml keeps its production values.

export const ROOT = new URL("../../", import.meta.url).pathname;
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

function varArgs(vars: Record<string, string>): string[] {
  return Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
}

export interface WorkerLaunch {
  sup: Supervisor;
  stateDir: string;
  registryDir: string;
  logDir: string;
}

/**
 * How the stack runs its workers: "wrangler" (default) = `wrangler dev` each, "miniflare" = through
 * Miniflare's API directly (scripts/local/miniflare-worker.ts: the same bundle and bindings, no dev proxy;
 * several times the throughput on this box, bench/runtime-floor.ts). FYP_WORKER_RUNTIME selects it.
 */
export const WORKER_RUNTIME: "wrangler" | "miniflare" = process.env.FYP_WORKER_RUNTIME === "miniflare" ? "miniflare" : "wrangler";

function launch(l: WorkerLaunch, name: string, configArgs: string[], port: number, inspector: number, vars: Record<string, string>): Managed {
  const args = WORKER_RUNTIME === "miniflare"
    ? [join(ROOT, "scripts/local/miniflare-worker.ts"), ...configArgs, "--port", String(port), "--persist-to", join(l.stateDir, name), ...varArgs(vars)]
    : [
      WRANGLER, "dev", ...configArgs, "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspector),
      "--persist-to", join(l.stateDir, name), "--show-interactive-dev-session=false", "--log-level", "warn", ...varArgs(vars),
    ];
  return l.sup.start(name, process.execPath, args, {
    cwd: ROOT,
    logFile: join(l.logDir, `${name}.log`),
    // CLOUDFLARE_CF_FETCH_ENABLED=false: Miniflare's switch (setupCf) for fetching the `Request.cf` object
    // from workers.cloudflare.com at every start; offline that logged a getaddrinfo ENOTFOUND stack per
    // worker start. Local requests get Miniflare's built-in placeholder cf object either way.
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_REGISTRY_PATH: l.registryDir, CI: "1", NO_COLOR: "1" },
  });
}

/** Origin vars a stack takes from the environment when set; unset = the worker's production default. */
export const ORIGIN_ENV_VARS = ["RANK_TIMEOUT_MS", "LEVEL_WINDOW_MS", "LEVEL_DB_P99_MS", "REPLICATION_HEARTBEAT_MS", "RETRY_FEATURE_STORE_TRY_MS", "RETRY_DB_READ_TRY_MS"] as const;
/** Edge vars likewise: RegionHealth timings (probe cadence …) and the events queue's retry bounds. */
export const EDGE_ENV_VARS = [...Object.values(TIMING_ENV_VARS), "EVENTS_MAX_RETRY_DELAY_S", "EVENTS_MAX_DELIVERY_ATTEMPTS"] as const;

/** The variables of `names` that are set (non-empty) in `env`, as wrangler vars. */
export function varsFromEnv(names: readonly string[], env: Record<string, string | undefined> = process.env): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (env[n] ? [[n, env[n]!]] : [])));
}

export interface OriginVars {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  RANKING_URL: string;
  INTERNAL_SECRET: string;
  CURSOR_SECRET: string;
  RANK_TIMEOUT_MS?: string;
}

export async function startOrigin(l: WorkerLaunch, region: Region, port: number, vars: OriginVars): Promise<Managed> {
  const m = launch(l, `origin-${region}`, ["-c", "origin/wrangler.toml", "--env", region], port, port + 100, { REGION: region, ...vars });
  await waitForHttp(`http://127.0.0.1:${port}/metrics`, { timeoutMs: 90_000, what: `origin ${region}`, exited: m.exited });
  return m;
}

export async function startEdge(l: WorkerLaunch, port: number, vars: Record<string, string>): Promise<Managed> {
  const m = launch(l, "edge", ["-c", "wrangler.toml"], port, port + 100, vars);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, { timeoutMs: 90_000, what: "edge", exited: m.exited });
  return m;
}

/** The pages worker (wrangler.web.toml: web client and ops page), forwarding the API's paths to `vars.API_ORIGIN`. */
export async function startWeb(l: WorkerLaunch, port: number, vars: { API_ORIGIN: string }): Promise<Managed> {
  const m = launch(l, "web", ["-c", "wrangler.web.toml"], port, port + 100, vars);
  await waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 90_000, what: "pages worker", exited: m.exited });
  return m;
}
