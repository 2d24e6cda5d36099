import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

// One worker served through Miniflare's API directly (issue 13, the local runtime floor): workerd with no
// `wrangler dev` proxy in front, which measured several times faster on this box (bench/runtime-floor.ts).
// The bundle is exactly what `wrangler deploy` would upload (`wrangler deploy --dry-run --outdir`), and the
// bindings come from the same wrangler.toml (wrangler's unstable_getMiniflareWorkerOptions), so the worker
// runs as under `wrangler dev`, minus the dev proxy, live reload and the inspector. A process of its own,
// like `wrangler dev`, so the supervisor starts and stops it the same way.
//
// node scripts/local/miniflare-worker.ts -c <wrangler.toml> [--env <name>] --port <n> --persist-to <dir> [--var K:V]…
// FYP_MF_INSPECT=<worker name>:<port> (e.g. fyp-origin-us:9339) opens workerd's inspector for that worker
// only: CPU profiles over the DevTools protocol (Profiler.start/stop), as the issue 13 profiles were taken.

const ROOT = new URL("../../", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    config: { type: "string", short: "c" },
    env: { type: "string" },
    port: { type: "string" },
    "persist-to": { type: "string" },
    var: { type: "string", multiple: true },
  },
});
if (!values.config || !values.port || !values["persist-to"]) throw new Error("usage: -c <wrangler.toml> [--env <name>] --port <n> --persist-to <dir> [--var K:V]…");
const config = resolve(values.config);
const persist = resolve(values["persist-to"]);
const vars = Object.fromEntries((values.var ?? []).map((kv) => [kv.slice(0, kv.indexOf(":")), kv.slice(kv.indexOf(":") + 1)]));

/** Newest modification time (ms) of the files under `paths` (directories walked; missing paths skipped). */
function newestMtime(paths: string[]): number {
  let newest = 0;
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  paths.forEach(walk);
  return newest;
}

/** `wrangler deploy --dry-run --outdir`: the exact bundle `wrangler deploy` would upload. */
function bundleWorker(outdir: string): void {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const build = spawnSync(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", outdir, "-c", config, ...(values.env ? ["--env", values.env] : [])], {
    cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
  });
  if (build.status !== 0) throw new Error(`bundling ${config} failed (exit ${build.status})`);
}

// A restart (the fault tests stop and start origins) reuses the bundle while no source changed since.
const outdir = join(persist, "bundle");
// wrangler names the bundle after the entry module (edge/index.ts → index.js, edge/web-worker.ts → web-worker.js).
const bundleFile = () => (existsSync(outdir) ? readdirSync(outdir).find((f) => f.endsWith(".js")) : undefined);
const bundle = join(outdir, bundleFile() ?? "index.js");
const sources = [config, join(ROOT, "package-lock.json"), ...["edge", "origin", "shared", "web"].map((d) => join(ROOT, d))];
if (!(existsSync(bundle) && statSync(bundle).mtimeMs > newestMtime(sources))) bundleWorker(outdir);

const { workerOptions } = unstable_getMiniflareWorkerOptions(config, values.env);
const name = unstable_readConfig({ config, env: values.env }).name;
// The bundle is one ES module (plus its source map): no module rules to apply.
delete (workerOptions as { modulesRules?: unknown }).modulesRules;
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1", port: Number(values.port), resourcePersistencePath: join(persist, "state"), cf: false,
    log: new Log(LogLevel.WARN),
    ...workerOptions,
    name, modules: [{ type: "ESModule", path: join(outdir, bundleFile()!) }], modulesRoot: outdir, rootPath: ROOT,
    bindings: { ...(workerOptions.bindings as Record<string, unknown>), ...vars },
    ...(process.env.FYP_MF_INSPECT?.startsWith(`${name}:`) ? { inspectorPort: Number(process.env.FYP_MF_INSPECT.slice(name!.length + 1)) } : {}),
  } as Parameters<typeof convertV4MiniflareOptions>[0]),
);
const url = await mf.ready;
console.log(`${name ?? "worker"} (Miniflare) ready on ${url}`);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void mf.dispose().finally(() => process.exit(0)));
