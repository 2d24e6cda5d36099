// Ranking service benchmark (DESIGN.md §5): `node bench/rank.bench.ts [--seconds 3] [--requests 200]`
//   1. latency of one 5,000-candidate rank call through the HTTP service vs raw session.run on the same
//      model and batch (the service's overhead: JSON, base64, queueing, top-k, HTTP);
//   2. throughput at concurrency 32 with micro-batching vs without (each session.run holds one request).
// The service runs as a child process, as in production, so client and server do not share a thread.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { freePort } from "../scripts/local/free-port.ts";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createScorer } from "../gpu-inference/backends.ts";
import { ModelRegistry } from "../gpu-inference/registry.ts";
import { registerSyntheticModel } from "../gpu-inference/tiny-model.ts";
import { createRng } from "../gpu-inference/train/rng.ts";
import { encodeColumnar } from "../shared/rank-contract.ts";

const { values: args } = parseArgs({ options: { seconds: { type: "string" }, requests: { type: "string" } } });
const SECONDS = Number(args.seconds ?? 3);
const REQUESTS = Number(args.requests ?? 200);
const ROOT = path.resolve(import.meta.dirname, "..");

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const f1 = (x: number) => x.toFixed(x < 10 ? 2 : 1);


function candidates(n: number, seed: number) {
  const rng = createRng(seed);
  return {
    ids: Array.from({ length: n }, (_, i) => i + 1),
    embeddings: Float32Array.from({ length: n * 16 }, () => rng.normal() * 0.3),
    ctx: Float32Array.from({ length: n * 4 }, () => rng.next()),
  };
}
const user = { id: "bench-user", embedding: Array.from({ length: 16 }, (_, i) => Math.cos(i)) };

interface Service {
  url: string;
  proc: ChildProcess;
}

async function startService(modelDir: string, env: Record<string, string>): Promise<Service> {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(ROOT, "gpu-inference/server.ts")], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", MODEL_DIR: modelDir, RANK_MAX_QUEUE_ROWS: "1000000", RANK_REQUIRE_SECRET: "false", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return { url, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error("ranking service did not become ready");
}

async function stopService(s: Service): Promise<void> {
  const exited = new Promise((r) => s.proc.once("exit", r));
  s.proc.kill("SIGTERM");
  await exited;
}

async function post(url: string, body: string): Promise<{ batch_rows: number }> {
  const res = await fetch(`${url}/v1/rank`, { method: "POST", headers: { "content-type": "application/json" }, body });
  if (!res.ok) throw new Error(`rank answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { batch_rows: number };
}

/** Sequential latency of a 5,000-candidate call: HTTP service vs session.run. */
async function latency(modelDir: string, modelBytes: Uint8Array) {
  const n = 5000;
  const c = candidates(n, 1);
  const scorer = await createScorer(modelBytes, { backend: "cpu" });
  const userRows = new Float32Array(n * 16);
  for (let i = 0; i < n; i++) userRows.set(user.embedding, i * 16);
  const raw: number[] = [];
  for (let i = 0; i < REQUESTS + 20; i++) {
    const t0 = performance.now();
    await scorer.run({ user: userRows, video: c.embeddings, ctx: c.ctx, rows: n });
    if (i >= 20) raw.push(performance.now() - t0); // first runs warm up the session
  }
  await scorer.release();

  const svc = await startService(modelDir, { RANK_MAX_WAIT_MS: "0" });
  const encode: number[] = [];
  const http: number[] = [];
  const total: number[] = [];
  try {
    for (let i = 0; i < REQUESTS + 20; i++) {
      const t0 = performance.now();
      // Encoding is part of a call's cost, as it is for the origin (same JSON.stringify + base64 path).
      const body = JSON.stringify({ user, columnar: encodeColumnar(c), top_k: 50 });
      const t1 = performance.now();
      await post(svc.url, body);
      const t2 = performance.now();
      if (i >= 20) {
        encode.push(t1 - t0);
        http.push(t2 - t1);
        total.push(t2 - t0);
      }
    }
  } finally {
    await stopService(svc);
  }
  return { raw, encode, http, total };
}

/** Requests/s and candidate rows/s at a fixed concurrency for SECONDS. */
async function throughput(modelDir: string, rows: number, batched: boolean, concurrency = 32) {
  const env = batched
    ? { RANK_MAX_BATCH_ROWS: "16384", RANK_MAX_WAIT_MS: "2" }
    : { RANK_MAX_BATCH_ROWS: String(rows), RANK_MAX_WAIT_MS: "0" }; // exactly one request per session.run
  const svc = await startService(modelDir, env);
  const bodies = Array.from({ length: 64 }, (_, i) => JSON.stringify({ user, columnar: encodeColumnar(candidates(rows, i + 10)), top_k: Math.min(rows, 50) }));
  let done = 0;
  let batchRows = 0;
  const lat: number[] = [];
  try {
    const warmEnd = performance.now() + 500;
    const end = warmEnd + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = 0; performance.now() < end; i++) {
          const t0 = performance.now();
          const r = await post(svc.url, bodies[(w + i * concurrency) % bodies.length]);
          if (t0 >= warmEnd) {
            done++;
            batchRows += r.batch_rows;
            lat.push(performance.now() - t0);
          }
        }
      }),
    );
  } finally {
    await stopService(svc);
  }
  return { rps: done / SECONDS, rowsPerS: (done * rows) / SECONDS, meanBatch: batchRows / Math.max(1, done), p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join(" | ")} |`;
  return [line(rows[0]), `|${w.map((x) => "-".repeat(x + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "fyp-rank-bench-"));
  try {
    const meta = await registerSyntheticModel(dir, { rows: 3000, epochs: 2 });
    const { bytes } = await new ModelRegistry(dir).load(meta.version);

    const { raw, encode, http, total } = await latency(dir, bytes);
    console.log(`\nRanking latency, 5,000 candidates → top 50 (CPU backend, ${REQUESTS} sequential calls)\n`);
    console.log(
      table([
        ["path", "p50 ms", "p99 ms"],
        ["raw session.run (5,000 rows)", f1(pct(raw, 0.5)), f1(pct(raw, 0.99))],
        ["client: encode request (base64 + JSON)", f1(pct(encode, 0.5)), f1(pct(encode, 0.99))],
        ["HTTP round trip (POST → parsed response)", f1(pct(http, 0.5)), f1(pct(http, 0.99))],
        ["whole call (encode + round trip)", f1(pct(total, 0.5)), f1(pct(total, 0.99))],
        ["ratio round trip / raw", f1(pct(http, 0.5) / pct(raw, 0.5)), f1(pct(http, 0.99) / pct(raw, 0.99))],
      ]),
    );

    const out: string[][] = [["request size, mode", "req/s", "rows/s", "mean batch rows", "p50 ms", "p99 ms"]];
    for (const rows of [1, 100]) {
      for (const batched of [false, true]) {
        const t = await throughput(dir, rows, batched);
        out.push([
          `${rows} row${rows > 1 ? "s" : ""}, ${batched ? "batched (max 16384 rows, 2 ms)" : "unbatched (1 request per run)"}`,
          t.rps.toFixed(0), t.rowsPerS.toFixed(0), f1(t.meanBatch), f1(t.p50), f1(t.p99),
        ]);
      }
    }
    console.log(`\nThroughput at concurrency 32 (${SECONDS} s each, client and service on this machine)\n`);
    console.log(table(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
