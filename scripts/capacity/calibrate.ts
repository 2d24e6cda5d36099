// Calibration of the capacity simulator's ranking-pod model from the real ranking service (the part of
// bench/rank.bench.ts the model needs): `node scripts/capacity/calibrate.ts [--out FILE] [--requests 200]`.
//   1. raw session.run time of one batch at 5,000 / 10,000 / 15,000 rows → inference a + b·rows (ms);
//   2. the handler's synchronous work in-process on the thread's CPU clock: request side per call (JSON,
//      validation, base64 decode) and response side (top-k of 5,000 scores + JSON of 50 items) (ms);
//   3. the service as a child process with the Deployment's batching env, sequential 5,000-candidate
//      calls: per call, the time the event loop spends on it = round trip − batch queue − inference
//      (timing_ms of the response); the process CPU per call and the main thread's (the event loop's)
//      CPU per call from /proc/<pid>/stat and /proc/<pid>/task/<pid>/stat;
//   4. closed loop just under the admission bound (RANK_MAX_QUEUE_ROWS / 5,000 rows = 13 calls in flight):
//      throughput, p50/p99, mean batch rows — a check on the model at saturation.
// Writes JSON (default artifacts/capacity/calibration.json, which the simulator prefers when present;
// `--out scripts/capacity/calibration.json` refreshes the committed copy). The Zipf-replay hit rates are
// carried over from the committed file: they come from `npm run bench` against the whole stack.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createScorer } from "../../gpu-inference/backends.ts";
import { ModelRegistry } from "../../gpu-inference/registry.ts";
import { registerSyntheticModel } from "../../gpu-inference/tiny-model.ts";
import { topK } from "../../gpu-inference/top-k.ts";
import { syntheticCandidates } from "../../gpu-inference/synthetic-candidates.ts";
import { decodeColumnar, encodeColumnar, parseRankRequest } from "../../shared/rank-contract.ts";
import { freePort } from "../local/free-port.ts";
import { COMMITTED_CALIBRATION, LATEST_CALIBRATION, CalibrationSchema, type Calibration } from "./calibration.ts";
import { ROOT, loadDeployedConfig } from "./config.ts";

const { values: args } = parseArgs({ options: { out: { type: "string" }, requests: { type: "string" }, seconds: { type: "string" }, "max-load": { type: "string" }, "wait-s": { type: "string" } } });
const REQUESTS = Number(args.requests ?? 200);
const SECONDS = Number(args.seconds ?? 4);
const OUT = path.resolve(args.out ?? LATEST_CALIBRATION);
const cfg = loadDeployedConfig();
const N = cfg.candidatesPerRankCall;
const TOP_K = 50;

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))];
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

const candidates = (n: number, seed: number) => syntheticCandidates(n, seed, (i) => i + 1);
const user = { id: "calibration-user", embedding: Array.from({ length: 16 }, (_, i) => Math.cos(i)) };

/** CPU seconds (user + system) a process (or, with `thread`, one of its threads) has used, from /proc (10 ms ticks). */
function cpuSeconds(pid: number, thread?: number): number {
  const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15)
}

async function inferencePoints(bytes: Uint8Array) {
  const scorer = await createScorer(bytes, { backend: "cpu" });
  const points: { rows: number; ms: number }[] = [];
  try {
    for (const rows of [N, 2 * N, 3 * N]) {
      const c = candidates(rows, rows);
      const u = new Float32Array(rows * 16);
      for (let i = 0; i < rows; i++) u.set(user.embedding, i * 16);
      const t: number[] = [];
      for (let i = 0; i < 110; i++) {
        const t0 = performance.now();
        await scorer.run({ user: u, video: c.embeddings, ctx: c.ctx, rows });
        if (i >= 10) t.push(performance.now() - t0);
      }
      // The 10th percentile: on a shared machine most of the spread is waiting for a core.
      points.push({ rows, ms: r3(pct(t, 0.1)) });
    }
  } finally {
    await scorer.release();
  }
  // Least squares of p50 on rows.
  const mx = mean(points.map((p) => p.rows));
  const my = mean(points.map((p) => p.ms));
  const b = points.reduce((s, p) => s + (p.rows - mx) * (p.ms - my), 0) / points.reduce((s, p) => s + (p.rows - mx) ** 2, 0);
  // Scheduling noise on a busy machine can tilt three points the wrong way; inference never gets cheaper
  // with more rows, so a negative slope is read as "flat".
  const slope = Math.max(0, b);
  return { aMs: r3(Math.max(0, my - slope * mx)), bMsPerRow: slope, points };
}

/** CPU time of the calling thread (ms), immune to waiting for a core. */
const threadMs = () => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * The handler's synchronous work per call, in-process, timed on the thread's CPU clock: request side
 * (JSON.parse, parseRankRequest, decodeColumnar) per call, and the mean response side (top-k of N scores,
 * items, JSON). The HTTP parts (reading a ~0.5 MB body, writing the response) are not in here; the model
 * scales these to the service's measured main-thread CPU per call.
 */
function handlerCpu(bodies: string[]): { requestCpuMs: number[]; respondMs: number } {
  const scores = Float32Array.from({ length: N }, (_, i) => Math.abs(Math.sin(i)));
  const req: number[] = [];
  const resp: number[] = [];
  for (let i = 0; i < REQUESTS + 30; i++) {
    const t0 = threadMs();
    const parsed = parseRankRequest(JSON.parse(bodies[i % bodies.length]));
    if (!parsed.ok || !parsed.value.columnar || !decodeColumnar(parsed.value.columnar).ok) throw new Error("calibration body rejected by the rank contract");
    const t1 = threadMs();
    const order = topK(scores, TOP_K);
    const items = Array.from(order, (j) => ({ id: j + 1, score: scores[j] }));
    JSON.stringify({ model_version: "v", items, batch_rows: N, timing_ms: { queue: 0, infer: 0 } });
    const t2 = threadMs();
    if (i >= 30) req.push(t1 - t0), resp.push(t2 - t1);
  }
  return { requestCpuMs: req.map(r3), respondMs: r3(mean(resp)) };
}

async function startService(modelDir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const d = cfg.deployment;
  const proc = spawn(process.execPath, [path.join(ROOT, "gpu-inference/server.ts")], {
    env: {
      ...process.env, PORT: String(port), HOST: "127.0.0.1", MODEL_DIR: modelDir, RANK_REQUIRE_SECRET: "false", RANK_BACKEND: "cpu",
      RANK_MAX_BATCH_ROWS: String(d.maxBatchRows), RANK_MAX_WAIT_MS: String(d.maxWaitMs), RANK_MAX_QUEUE_ROWS: String(d.maxQueueRows),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return { url, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error("ranking service did not become ready");
}

interface RankReply {
  batch_rows: number;
  timing_ms: { queue: number; infer: number };
}
async function post(url: string, body: string): Promise<RankReply> {
  const res = await fetch(`${url}/v1/rank`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`rank answered ${res.status}`);
  return (await res.json()) as RankReply;
}

async function serviceMeasurements(modelDir: string, bodies: string[]) {
  const svc = await startService(modelDir);
  const pid = svc.proc.pid!;
  try {
    for (let i = 0; i < 20; i++) await post(svc.url, bodies[i % bodies.length]); // warm-up
    const loop: number[] = [];
    const rtt: number[] = [];
    const cpu0 = cpuSeconds(pid);
    const main0 = cpuSeconds(pid, pid); // the main thread runs the event loop
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      const r = await post(svc.url, bodies[i % bodies.length]);
      const ms = performance.now() - t0;
      rtt.push(ms);
      loop.push(Math.max(0.05, ms - r.timing_ms.queue - r.timing_ms.infer));
    }
    const cpuMsPerRequest = ((cpuSeconds(pid) - cpu0) * 1000) / REQUESTS;
    const mainThreadCpuMs = ((cpuSeconds(pid, pid) - main0) * 1000) / REQUESTS;

    const lat: number[] = [];
    let done = 0;
    let batchRows = 0;
    const cpu1 = cpuSeconds(pid);
    const end = performance.now() + SECONDS * 1000;
    const concurrency = Math.max(1, Math.floor(cfg.deployment.maxQueueRows / N) - 1);
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = 0; performance.now() < end; i++) {
          const t0 = performance.now();
          const r = await post(svc.url, bodies[(w + i) % bodies.length]);
          lat.push(performance.now() - t0);
          done++;
          batchRows += r.batch_rows;
        }
      }),
    );
    const satCpu = ((cpuSeconds(pid) - cpu1) * 1000) / done;
    return {
      loop, rtt, cpuMsPerRequest, mainThreadCpuMs,
      saturation: { concurrency, rps: r3(done / SECONDS), p50Ms: r3(pct(lat, 0.5)), p99Ms: r3(pct(lat, 0.99)), meanBatchRows: r3(batchRows / done), cpuMsPerRequest: r3(satCpu) },
    };
  } finally {
    const exited = new Promise((r) => svc.proc.once("exit", r));
    svc.proc.kill("SIGTERM");
    await exited;
  }
}

/** With --max-load L: waits (up to --wait-s, default 600 s) until the 1-minute load average is below L. */
async function waitForQuiet(): Promise<void> {
  if (args["max-load"] === undefined) return;
  const max = Number(args["max-load"]);
  const until = Date.now() + Number(args["wait-s"] ?? 600) * 1000;
  while (loadavg()[0] >= max && Date.now() < until) await new Promise((r) => setTimeout(r, 5000));
  console.log(`load average ${loadavg()[0].toFixed(2)} (asked for < ${max})`);
}

async function main(): Promise<void> {
  await waitForQuiet();
  // Only the Zipf block is carried over; the rest is measured now.
  const committed = CalibrationSchema.pick({ zipf: true }).parse(JSON.parse(readFileSync(COMMITTED_CALIBRATION, "utf8")));
  const dir = mkdtempSync(path.join(tmpdir(), "fyp-capacity-cal-"));
  try {
    const meta = await registerSyntheticModel(dir, { rows: 3000, epochs: 2 });
    const { bytes } = await new ModelRegistry(dir).load(meta.version);
    const loadBefore = loadavg()[0];
    const inference = await inferencePoints(bytes);
    const bodies = Array.from({ length: 16 }, (_, i) => JSON.stringify({ user, columnar: encodeColumnar(candidates(N, 100 + i)), top_k: TOP_K }));
    const handler = handlerCpu(bodies);
    const s = await serviceMeasurements(dir, bodies);
    const out: Calibration = {
      measuredAt: new Date().toISOString(),
      host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "?", loadAverage1m: r3(Math.max(loadBefore, loadavg()[0])), backend: "cpu" },
      candidatesPerCall: N,
      topK: TOP_K,
      batching: { maxBatchRows: cfg.deployment.maxBatchRows, maxWaitMs: cfg.deployment.maxWaitMs },
      eventLoopMs: s.loop.map(r3),
      requestCpuMs: handler.requestCpuMs,
      respondMs: handler.respondMs,
      inference,
      cpuMsPerRequest: r3(s.cpuMsPerRequest),
      mainThreadCpuMsPerRequest: r3(s.mainThreadCpuMs),
      sequential: { requests: REQUESTS, p50Ms: r3(pct(s.rtt, 0.5)), p99Ms: r3(pct(s.rtt, 0.99)) },
      saturation: s.saturation,
      zipf: committed.zipf,
    };
    mkdirSync(path.dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify(CalibrationSchema.parse(out), null, 1) + "\n");
    console.log(`calibration written to ${path.relative(ROOT, OUT)}`);
    console.log(JSON.stringify({ ...out, eventLoopMs: { n: s.loop.length, p50: pct(s.loop, 0.5), p99: pct(s.loop, 0.99), mean: mean(s.loop) } }, null, 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
