import { createServer } from "node:http";
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { freePort } from "../scripts/local/free-port.ts";
import { type Managed, type Supervisor, waitForHttp } from "../scripts/local/supervisor.ts";
import { ROOT } from "../scripts/local/workers.ts";

// The local runtime floor (issue 13): the same constant Hono worker (bench/constant-worker) served three
// ways — under `wrangler dev` (its dev proxy in front of workerd, how the stack runs today), through
// Miniflare's API directly (workerd behind Miniflare's own entry worker, no dev proxy: the card's
// "miniflare local testing"), and by plain Node (no Workers runtime at all, the box's floor) — so every
// local figure can say which floor it sits on.

const COMPAT_DATE = "2026-11-01"; // bench/constant-worker/wrangler.toml

export interface Floor {
  url: string;
  stop(): Promise<void>;
}

/** The constant worker bundled (esbuild, workerd conditions) into one ES module. */
export async function constantWorkerScript(): Promise<string> {
  const out = await build({
    entryPoints: [join(ROOT, "bench/constant-worker/index.ts")], bundle: true, format: "esm", write: false,
    platform: "neutral", conditions: ["workerd", "worker", "browser"], mainFields: ["module", "main"],
  });
  return out.outputFiles[0].text;
}

/**
 * The constant worker through Miniflare's API on a loopback port; `mf` also answers dispatchFetch. With
 * `assetsFront`, it sits behind the same static-assets router as the edge (wrangler.toml [assets]:
 * ./public, run_worker_first = true; "patterns" = the earlier run_worker_first = ["/v1/*"]) and is asked
 * at /v1/floor: the edge's own front, minus the edge.
 */
export async function miniflareFloor(opts: { script?: string; assetsFront?: boolean | "patterns" } = {}): Promise<Floor & { mf: Miniflare }> {
  const routerConfig = opts.assetsFront === "patterns"
    ? { has_user_worker: true, static_routing: { asset_worker: [], user_worker: ["/v1/*"] } }
    : { has_user_worker: true, invoke_user_worker_ahead_of_assets: true };
  const assets = opts.assetsFront
    ? { assets: { directory: join(ROOT, "public"), routerConfig, assetConfig: { compatibility_date: COMPAT_DATE } } }
    : {};
  const mf = new Miniflare(convertV4MiniflareOptions({ modules: true, script: opts.script ?? (await constantWorkerScript()), compatibilityDate: COMPAT_DATE, host: "127.0.0.1", port: await freePort(), ...assets }));
  const url = String(await mf.ready);
  return { url: opts.assetsFront ? `${url}v1/floor` : url, mf, stop: () => mf.dispose() };
}

/** The constant worker under `wrangler dev`, started by `sup` on `port` (log in `logDir`). */
export async function wranglerFloor(sup: Supervisor, port: number, logDir: string): Promise<Floor & { managed: Managed }> {
  const managed = sup.start("bench-constant", process.execPath, [
    join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", "-c", "bench/constant-worker/wrangler.toml", "--port", String(port), "--ip", "127.0.0.1",
    "--inspector-port", String(await freePort()), "--show-interactive-dev-session=false", "--log-level", "warn",
  ], { cwd: ROOT, logFile: join(logDir, "bench-constant.log"), env: { WRANGLER_SEND_METRICS: "false", CI: "1" } });
  const url = `http://127.0.0.1:${port}/`;
  await waitForHttp(url, { timeoutMs: 60_000, what: "constant worker (wrangler dev)", exited: managed.exited });
  return { url, managed, stop: () => sup.stop(managed) };
}

/** The same constant body from plain Node's http server (no Workers runtime). */
export async function nodeFloor(): Promise<Floor> {
  const body = JSON.stringify({ ok: true, items: [] });
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(body));
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}/`, stop: () => new Promise((r) => server.close(() => r())) };
}
