export {};
// Edge and origin benchmarks against a real local stack (DESIGN §5), started here on its own ports:
//   1. edge cache-hit throughput / p50 / p99 vs a plain Hono worker returning a constant (same workerd),
//      and the local runtime floors: that worker under `wrangler dev`, through Miniflare's API, plain Node
//   2. viral spike: 10,000 concurrent requests for one cold key → origin fetches (coalescing ratio)
//   3. origin miss path at 5,000 candidates → first page of a personalized feed: p50 / p99 + breakdown
//   4. Zipf replay: hit rates of the edge, the app cache and the feature store vs the seed's targets, the
//      pre-warm running at the cron's cadence; resident memory of the stack's processes meanwhile
// Run: `npm run bench` (with the ranking benchmark) or `node bench/stack.bench.ts`.
process.env.FYP_PORT_OFFSET ??= "3000";
// The stack's workers run through Miniflare's API (no `wrangler dev` proxy: several times its throughput,
// the floor table below); FYP_WORKER_RUNTIME=wrangler measures the `wrangler dev` stack instead.
process.env.FYP_WORKER_RUNTIME ??= "miniflare";
const { join } = await import("node:path");
const http = await import("node:http");
const pg = (await import("pg")).default;
const { startStack } = await import("../scripts/stack.ts");
const { LOCAL_PG, regionDatabase } = await import("../shared/local-ports.ts");
const { loadHttp, table } = await import("./load.ts");
type LoadResult = import("./load.ts").LoadResult;
const { zipfReplay } = await import("./zipf-replay.ts");
const { originMiss } = await import("./origin-miss.ts");
const { miniflareFloor, nodeFloor, wranglerFloor } = await import("./runtime-floor.ts");
const { sampleRss, treeCpuSeconds } = await import("./rss.ts");
const { mintSessionToken } = await import("../shared/auth.ts");
const { WORKER_RUNTIME } = await import("../scripts/local/workers.ts");
const { TTL } = await import("../shared/config.ts");

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SPIKE = Number(process.env.BENCH_SPIKE ?? 10_000);
/** BENCH_ONLY=hit,spike,miss,zipf runs those sections only (while working on one; `npm run bench` runs all). */
const ONLY = new Set((process.env.BENCH_ONLY ?? "hit,spike,miss,zipf").split(",").map((x) => x.trim()));

async function originFeedCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith("fyp_origin_requests_total{") && l.includes('route="feed"'))
    .reduce((s, l) => s + Number(l.split(" ").pop()), 0);
}

const stack = await startStack({ profile: "test", users: Number(process.env.BENCH_USERS ?? 10_000), videos: Number(process.env.BENCH_VIDEOS ?? 100_000), log: (l) => console.error(`[stack] ${l}`) });
// Ctrl-C / kill: stop exactly the processes this bench started, then exit.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stack.stop().finally(() => process.exit(130)));
try {
  if (ONLY.has("hit")) {
    // 1. cache-hit throughput vs the runtime floor (the same constant worker three ways: bench/runtime-floor.ts)
    const wr = await wranglerFloor(stack.supervisor, stack.ports.edge + 50, join(stack.dataDir, "logs"));
    const hitUrl = `${stack.edgeUrl}/v1/feed?count=10&region=us`;
    // A signed-in reader's page: session verification (per isolate, edge/session-cache.ts) + a personal key.
    const c0 = new pg.Client({ host: "127.0.0.1", port: stack.ports.postgres, database: regionDatabase("us"), ...LOCAL_PG });
    await c0.connect();
    const hitUser = `u${(await c0.query("SELECT user_id FROM users ORDER BY user_id DESC LIMIT 1")).rows[0].user_id}`;
    await c0.end();
    const auth = { authorization: `Bearer ${await mintSessionToken(stack.secrets.SESSION_SECRET, hitUser, "us")}` };
    // The client is node:http with keep-alive sockets (bench/load.ts loadHttp): fetch's own per-request cost
    // capped every server near 600 req/s on this box.
    const measure = async (url: string, headers?: Record<string, string>) => {
      await loadHttp(url, { concurrency: CONC, seconds: 1, headers }); // warm-up
      return loadHttp(url, { concurrency: CONC, seconds: SECONDS, headers });
    };
    // All floors up first (idle until measured); then the edge and the floors of its runtime in two
    // interleaved rounds (this box's load drifts; each row is the mean of its rounds), the rest once.
    const mfFloor = await miniflareFloor();
    const mfAssets = await miniflareFloor({ assetsFront: true });
    const nodeF = await nodeFloor();
    const mean = (rs: LoadResult[]): LoadResult => ({
      requests: rs.reduce((n, r) => n + r.requests, 0), errors: rs.reduce((n, r) => n + r.errors, 0),
      rps: rs.reduce((n, r) => n + r.rps, 0) / rs.length, p50: rs.reduce((n, r) => n + r.p50, 0) / rs.length, p99: rs.reduce((n, r) => n + r.p99, 0) / rs.length,
    });
    const rounds: Record<"hit" | "mf" | "mfA", LoadResult[]> = { hit: [], mf: [], mfA: [] };
    // The edge workerd's CPU per HIT (its process tree; steadier than req/s on a shared box).
    const edgeCpu = { s: 0, requests: 0 };
    const edgeCpuMs = async (url: string, headers?: Record<string, string>) => {
      await loadHttp(url, { concurrency: CONC, seconds: 1, headers });
      const c0 = treeCpuSeconds(stack.edge.child.pid!);
      const r = await loadHttp(url, { concurrency: CONC, seconds: SECONDS, headers });
      edgeCpu.s += treeCpuSeconds(stack.edge.child.pid!) - c0;
      edgeCpu.requests += r.requests;
      return r;
    };
    for (let i = 0; i < 2; i++) {
      await fetch(hitUrl).then((r) => r.arrayBuffer()); // the anonymous page lives 30 s
      rounds.hit.push(await edgeCpuMs(hitUrl));
      rounds.mf.push(await measure(mfFloor.url));
      rounds.mfA.push(await measure(mfAssets.url));
    }
    const [hit, mf, mfA] = [mean(rounds.hit), mean(rounds.mf), mean(rounds.mfA)];
    await fetch(hitUrl, { headers: auth }).then((r) => r.arrayBuffer());
    const hitSigned = await measure(hitUrl, auth);
    const wrangler = await measure(wr.url);
    const nd = await measure(nodeF.url);
    await Promise.all([wr.stop(), mfFloor.stop(), mfAssets.stop(), nodeF.stop()]);
    const floor = WORKER_RUNTIME === "miniflare" ? mf : wrangler;
    table(`Edge cache hit vs plain Hono constant worker (${WORKER_RUNTIME === "miniflare" ? "Miniflare API" : "wrangler dev"}, concurrency ${CONC}, ${SECONDS} s each, node:http keep-alive client; the API worker has no static-assets router in front since the pages moved to their own worker; edge workerd CPU per anonymous HIT ${(1000 * edgeCpu.s / edgeCpu.requests).toFixed(3)} ms)`, ["worker", "req/s", "p50 ms", "p99 ms", "errors"], [
      ["plain Hono constant (floor)", floor.rps, floor.p50, floor.p99, floor.errors],
      ["edge /v1/feed cache HIT", hit.rps, hit.p50, hit.p99, hit.errors],
      ["ratio edge / floor", hit.rps / floor.rps, hit.p50 / floor.p50, hit.p99 / floor.p99, "-"],
      ["edge /v1/feed cache HIT, signed in (personal page)", hitSigned.rps, hitSigned.p50, hitSigned.p99, hitSigned.errors],
      ["ratio signed-in edge / floor", hitSigned.rps / floor.rps, hitSigned.p50 / floor.p50, hitSigned.p99 / floor.p99, "-"],
    ]);
    table(`Local runtime floor: the same constant Hono worker (bench/constant-worker), concurrency ${CONC}, ${SECONDS} s each`, ["runtime", "req/s", "p50 ms", "p99 ms", "errors", "vs wrangler dev"], [
      ["wrangler dev (dev proxy → workerd)", wrangler.rps, wrangler.p50, wrangler.p99, wrangler.errors, 1],
      ["Miniflare API (workerd, no dev proxy)", mf.rps, mf.p50, mf.p99, mf.errors, mf.rps / wrangler.rps],
      ["Miniflare API behind the static-assets router (the pages worker's front; the API worker has none)", mfA.rps, mfA.p50, mfA.p99, mfA.errors, mfA.rps / wrangler.rps],
      ["plain Node http (no Workers runtime)", nd.rps, nd.p50, nd.p99, nd.errors, nd.rps / wrangler.rps],
    ]);
  }

  if (ONLY.has("spike")) {
    // 2. viral spike on one cold key
    const before = await originFeedCount(stack.originUrl.eu);
    const t0 = performance.now();
    // All requests are issued at once; the client multiplexes them over 256 keep-alive sockets (10,000
    // simultaneous sockets exhaust workerd's file descriptors under `wrangler dev`).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const get = (url: string) =>
      new Promise<{ status: number; cache: string }>((resolve) => {
        const req = http.get(url, { agent }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, cache: String(res.headers["x-cache"] ?? "?") }));
        });
        req.on("error", () => resolve({ status: 0, cache: "ERR" }));
      });
    const results = await Promise.all(Array.from({ length: SPIKE }, () => get(`${stack.edgeUrl}/v1/feed?count=23&region=eu`)));
    agent.destroy();
    const spikeMs = performance.now() - t0;
    const originCalls = (await originFeedCount(stack.originUrl.eu)) - before;
    const kinds = new Map<string, number>();
    for (const r of results) kinds.set(r.cache, (kinds.get(r.cache) ?? 0) + 1);
    // A spike that outlives the key's TTL is refreshed once per TTL (stale-while-revalidate): those fetches are
    // refreshes of a warm key, not coalescing failures; the column says how many the TTL explains.
    const refreshesDue = Math.floor(spikeMs / 1000 / TTL.edgeAnonFeed);
    table(`Viral spike: ${SPIKE} requests issued at once for one cold key over 256 client sockets (one edge isolate, ${WORKER_RUNTIME}; key TTL ${TTL.edgeAnonFeed} s)`, ["requests", "non-200", "origin fetches", "requests per origin fetch", "wall ms", "TTL refreshes the wall time explains", "x-cache"], [
      [SPIKE, results.filter((r) => r.status !== 200).length, originCalls, originCalls ? SPIKE / originCalls : "∞", spikeMs, refreshesDue, [...kinds].map(([k, v]) => `${k}:${v}`).join(" ")],
    ]);
  }

  if (ONLY.has("miss")) {
    // 3. origin miss path at 5,000 candidates (first page, distinct users → no chain or app cache to reuse),
    // and the ranking service's resident memory with its feature table (bench/origin-miss.ts)
    await originMiss({
      originUrl: stack.originUrl.us, rankingUrl: stack.rankingUrl, pgPort: stack.ports.postgres, internalSecret: stack.secrets.INTERNAL_SECRET,
      procs: { "origin us (workerd)": stack.origins.us.child.pid!, "ranking service": stack.ranking.child.pid!, "postgres": stack.postgres.pid ?? -1, "redis us": stack.redis.us.pid },
    });
  }

  if (ONLY.has("zipf")) {
    // 4. Zipf replay through the edge, with the pre-warm at the production cron's cadence (wrangler.toml
    // crons "* * * * *"; `wrangler dev` runs no crons) and the stack's resident memory sampled meanwhile.
    const prewarmNow = () => fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}` } }).then((r) => r.json()).catch((e) => ({ error: String(e) }));
    const pw = (await prewarmNow()) as { hot_pool?: number };
    const cron = setInterval(() => void prewarmNow(), 60_000);
    const rss = sampleRss({
      [`edge (${WORKER_RUNTIME} + workerd)`]: stack.edge.child.pid!,
      ...Object.fromEntries(Object.entries(stack.origins).map(([r, m]) => [`origin ${r} (${WORKER_RUNTIME} + workerd)`, m.child.pid!])),
      "ranking service (Node + onnxruntime)": stack.ranking.child.pid!,
    });
    const z = await zipfReplay({
      edgeUrl: stack.edgeUrl, originUrls: Object.values(stack.originUrl), pgPort: stack.ports.postgres, sessionSecret: stack.secrets.SESSION_SECRET,
      requests: Number(process.env.BENCH_ZIPF_REQUESTS ?? 4000), warmup: Number(process.env.BENCH_ZIPF_WARMUP ?? 4000), concurrency: 16,
    }).finally(() => clearInterval(cron));
    const mem = rss.stop();
    const rate = ([h, n]: [number, number]) => (n ? (100 * h) / n : NaN);
    const edgeAll: [number, number] = [z.edge.feed[0] + z.edge.videos[0], z.edge.feed[1] + z.edge.videos[1]];
    table(`Zipf replay: ${z.requests} requests measured after ${process.env.BENCH_ZIPF_WARMUP ?? 4000} warm-up requests of the same stream (55% feed, 45% video metadata; Zipf s=1 over 3,000 users and 20,000 videos), concurrency 16; ${z.non200} non-200, p50 ${z.p50.toFixed(1)} ms, p99 ${z.p99.toFixed(1)} ms. "ideal" = an infinite, never-expiring cache on the same stream (key requested before)`,
      ["tier", "lookups", "hits", "hit rate %", "ideal %", "seed target %", "vs target"], [
        ["edge (feed + videos)", edgeAll[1], edgeAll[0], rate(edgeAll), rate([z.ideal.feed + z.ideal.videos, edgeAll[1]]), 95, rate(edgeAll) / 95],
        ["  edge feed pages", z.edge.feed[1], z.edge.feed[0], rate(z.edge.feed), rate([z.ideal.feed, z.edge.feed[1]]), "-", "-"],
        ["  edge video metadata", z.edge.videos[1], z.edge.videos[0], rate(z.edge.videos), rate([z.ideal.videos, z.edge.videos[1]]), "-", "-"],
        ...Object.entries(z.videoTiers).map(([t, n]) => [`    answered from ${t}`, "-", n, "-", "-", "-", "-"] as (string | number)[]),
        ["app cache (Redis: chains, video metadata)", z.app[1], z.app[0], rate(z.app), "-", 70, rate(z.app) / 70],
        ["feature store (Redis: user/video features)", z.feature[1], z.feature[0], rate(z.feature), "-", 90, rate(z.feature) / 90],
        ["  origin isolate memo of video features (in front of Redis)", z.featureMemo[1], z.featureMemo[0], rate(z.featureMemo), "-", "-", "-"],
      ]);
    table(`Edge misses of the Zipf replay by cause (hot pool: ${pw.hot_pool ?? "?"} videos pushed)`, ["cause", "misses", "% of lookups"],
      Object.entries(z.missCauses).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v, (100 * v) / edgeAll[1]]));
    const MiB = (b: number) => b / 1024 / 1024;
    table("Resident memory during the Zipf replay (VmRSS of each process tree, /proc; MiB)", ["process", "peak MiB", "at the end MiB"],
      Object.entries(mem).map(([k, v]) => [k, MiB(v.peak), MiB(v.last)]));
  }

} finally {
  await stack.stop();
}
