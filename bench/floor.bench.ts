// The local runtime floor alone (issue 13): a constant Hono worker under `wrangler dev`, through Miniflare's
// API (HTTP and dispatchFetch), and plain Node, concurrency BENCH_CONCURRENCY (32) for BENCH_SECONDS (5)
// each. No stack needed. Run: `node bench/floor.bench.ts` (also part of `npm run bench`).
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../scripts/local/free-port.ts";
import { Supervisor } from "../scripts/local/supervisor.ts";
import { load, table } from "./load.ts";
import { miniflareFloor, nodeFloor, wranglerFloor } from "./runtime-floor.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 32);
const sup = new Supervisor();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void sup.stopAll().finally(() => process.exit(130)));
try {
  const measure = async (url: string) => {
    await load(url, { concurrency: CONC, seconds: 1 }); // warm-up
    return load(url, { concurrency: CONC, seconds: SECONDS });
  };
  const wr = await wranglerFloor(sup, await freePort(), join(tmpdir(), "fyp-bench-floor"));
  const wrangler = await measure(wr.url);
  await wr.stop();
  const mf = await miniflareFloor();
  const miniflare = await measure(mf.url);
  // dispatchFetch: Miniflare's in-process API (undici to the same workerd socket).
  await load("http://localhost/", { concurrency: CONC, seconds: 1, fetch: (u) => mf.mf.dispatchFetch(u) as unknown as Promise<Response> });
  const dispatch = await load("http://localhost/", { concurrency: CONC, seconds: SECONDS, fetch: (u) => mf.mf.dispatchFetch(u) as unknown as Promise<Response> });
  await mf.stop();
  const nd = await nodeFloor();
  const node = await measure(nd.url);
  await nd.stop();
  table(`Local runtime floor: one constant Hono worker (bench/constant-worker), concurrency ${CONC}, ${SECONDS} s each`, ["runtime", "req/s", "p50 ms", "p99 ms", "errors", "vs wrangler dev"], [
    ["wrangler dev (dev proxy → workerd)", wrangler.rps, wrangler.p50, wrangler.p99, wrangler.errors, 1],
    ["Miniflare API, HTTP (workerd, no dev proxy)", miniflare.rps, miniflare.p50, miniflare.p99, miniflare.errors, miniflare.rps / wrangler.rps],
    ["Miniflare API, dispatchFetch", dispatch.rps, dispatch.p50, dispatch.p99, dispatch.errors, dispatch.rps / wrangler.rps],
    ["plain Node http (no Workers runtime)", node.rps, node.p50, node.p99, node.errors, node.rps / wrangler.rps],
  ]);
} finally {
  await sup.stopAll();
}
