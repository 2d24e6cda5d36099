// Ranking service benchmark (DESIGN.md §5): `node bench/rank.bench.ts [--seconds 3] [--requests 200]`
//   1. latency of one 5,000-candidate rank call through the HTTP service vs raw session.run on the same
//      model and batch, next to the loopback transport floor (a constant GET on the same server): the
//      by-ids form (the origin's, issue 13: packed ids, features from the service's table of 100k videos)
//      and the columnar form (the caller ships base64 features);
//   2. throughput batched vs unbatched (each session.run holds one request), with where a request's time
//      goes (session.run vs everything else), which bounds what batching can win;
//   3. resident memory of the service without a feature table and with 100k / 200k videos.
// The service runs as a child process, as in production, so client and server do not share a thread.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../scripts/local/free-port.ts";
import { createScorer } from "../gpu-inference/backends.ts";
import { rankingConfig } from "../gpu-inference/config.ts";
import { writeSnapshot } from "../gpu-inference/feature-snapshot.ts";
import type { VideoFeatureRow } from "../gpu-inference/feature-table.ts";
import { ModelRegistry } from "../gpu-inference/registry.ts";
import { registerSyntheticModel } from "../gpu-inference/tiny-model.ts";
import { syntheticCandidates } from "../gpu-inference/synthetic-candidates.ts";
import { createRng } from "../gpu-inference/train/rng.ts";
import { encodeColumnar } from "../shared/rank-contract.ts";
import { encodeIds } from "../shared/u64-ids.ts";
import { rankingMemory } from "./origin-miss.ts";

const { values: args } = parseArgs({ options: { seconds: { type: "string" }, requests: { type: "string" }, only: { type: "string" } } });
/** --only latency|throughput|memory: one table (while working on one figure). */
const only = (part: string) => !args.only || args.only === part;
const SECONDS = Number(args.seconds ?? 3);
const REQUESTS = Number(args.requests ?? 200);
const ROOT = path.resolve(import.meta.dirname, "..");
const TABLE_VIDEOS = 100_000;

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const f1 = (x: number) => x.toFixed(x < 10 ? 2 : 1);

const candidates = (n: number, seed: number) => syntheticCandidates(n, seed, (i) => i + 1);
const user = { id: "bench-user", embedding: Array.from({ length: 16 }, (_, i) => Math.cos(i)) };

/** `n` candidate ids of the synthetic table (spread over it), as the origin sends them. */
const tableIds = (n: number, seed: number) => Array.from({ length: n }, (_, i) => String(1 + ((i * 7919 + seed * 104_729) % TABLE_VIDEOS)));
const followees = Array.from({ length: 30 }, (_, i) => String(1 + i * 37));
const byIdsBody = (ids: string[], topK: number) =>
  JSON.stringify({ user, by_ids: { ids: encodeIds(ids), followees: encodeIds(followees) }, top_k: topK });

async function snapshot(dir: string, n: number): Promise<string> {
  const rng = createRng(7);
  const now = Date.now();
  const rows: VideoFeatureRow[] = Array.from({ length: n }, (_, i) => ({
    id: String(i + 1), author: String(1 + (i % 1000)), embedding: Float32Array.from({ length: 16 }, () => rng.normal() * 0.25),
    views: Math.floor(rng.next() * 1e6), likes: Math.floor(rng.next() * 1e4), createdMs: now - rng.next() * 30 * 86_400_000, active: true,
  }));
  const file = path.join(dir, `features-${n}.json`);
  await writeSnapshot(file, rows);
  return file;
}

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
  for (let i = 0; i < 600; i++) {
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

/** Sequential latencies (ms) of `call`, after 20 warm-up calls. */
async function timeIt(n: number, call: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    await call();
    if (i >= 20) out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Sequential latency of a 5,000-candidate call: raw session.run, the transport floor and the by-ids call
 * taken in turn in one loop (the box's load hits all three alike), then the columnar call on its own (its
 * 400 KB bodies make garbage that would otherwise land in the others' timings).
 */
async function latency(modelDir: string, modelBytes: Uint8Array, snapshotFile: string) {
  const n = 5000;
  const c = candidates(n, 1);
  // The service's own inference settings (gpu-inference/config.ts defaults), so the baseline runs the same way.
  const scorer = await createScorer(modelBytes, { backend: "cpu", intraOpThreads: rankingConfig().intraOpThreads });
  const userRows = new Float32Array(n * 16);
  for (let i = 0; i < n; i++) userRows.set(user.embedding, i * 16);
  const svc = await startService(modelDir, { RANK_MAX_WAIT_MS: "0", FEATURE_SNAPSHOT: snapshotFile });
  const r = { raw: [] as number[], floor: [] as number[], encode: [] as number[], http: [] as number[], total: [] as number[], idsEncode: [] as number[], idsHttp: [] as number[], idsTotal: [] as number[] };
  try {
    const ids = tableIds(n, 1);
    for (let i = 0; i < REQUESTS + 20; i++) {
      const t0 = performance.now();
      await scorer.run({ user: userRows, video: c.embeddings, ctx: c.ctx, rows: n });
      const t1 = performance.now();
      await (await fetch(`${svc.url}/healthz`)).json();
      const t2 = performance.now();
      // Encoding is part of a call's cost, as it is for the origin (the same encoders).
      const body = byIdsBody(ids, 50);
      const t3 = performance.now();
      await post(svc.url, body);
      const t4 = performance.now();
      if (i < 20) continue; // warm-up
      r.raw.push(t1 - t0);
      r.floor.push(t2 - t1);
      r.idsEncode.push(t3 - t2);
      r.idsHttp.push(t4 - t3);
      r.idsTotal.push(t4 - t2);
    }
    for (let i = 0; i < REQUESTS + 20; i++) {
      const t0 = performance.now();
      const colBody = JSON.stringify({ user, columnar: encodeColumnar(c), top_k: 50 });
      const t1 = performance.now();
      await post(svc.url, colBody);
      const t2 = performance.now();
      if (i < 20) continue;
      r.encode.push(t1 - t0);
      r.http.push(t2 - t1);
      r.total.push(t2 - t0);
    }
  } finally {
    await scorer.release();
    await stopService(svc);
  }
  return r;
}

/** Keep-alive POST over node:http: a cheaper client than fetch, so the service is what is measured. */
function poster(url: string, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const u = new URL(`${url}/v1/rank`);
  const send = (body: string) =>
    new Promise<{ batch_rows: number }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`rank answered ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

/** CPU seconds (user + system, all threads) a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Median ms of one raw session.run over `rows` rows (the service's inference settings). */
async function rawRunMs(modelBytes: Uint8Array, rows: number): Promise<number> {
  const scorer = await createScorer(modelBytes, { backend: "cpu", intraOpThreads: rankingConfig().intraOpThreads });
  const z = new Float32Array(rows * 16).fill(0.1);
  const c = new Float32Array(rows * 4).fill(0.2);
  try {
    return pct(await timeIt(60, () => scorer.run({ user: z, video: z, ctx: c, rows })), 0.5);
  } finally {
    await scorer.release();
  }
}

/**
 * Requests/s at a fixed concurrency for SECONDS, and where a request's time goes: the service's CPU per
 * request (all its threads, from /proc) next to a raw session.run's time for that request's share of its
 * batch. Batching can only save the session.run part, so cpu / (cpu − run) bounds its gain.
 */
async function throughput(modelDir: string, modelBytes: Uint8Array, snapshotFile: string, form: "columnar" | "ids", rows: number, batched: boolean, concurrency: number) {
  const env = batched
    ? { RANK_MAX_BATCH_ROWS: "16384", RANK_MAX_WAIT_MS: "2" }
    : { RANK_MAX_BATCH_ROWS: String(rows), RANK_MAX_WAIT_MS: "0" }; // exactly one request per session.run
  const svc = await startService(modelDir, { ...env, FEATURE_SNAPSHOT: snapshotFile });
  const bodies = Array.from({ length: 64 }, (_, i) =>
    form === "ids" ? byIdsBody(tableIds(rows, i + 10), Math.min(rows, 50)) : JSON.stringify({ user, columnar: encodeColumnar(candidates(rows, i + 10)), top_k: Math.min(rows, 50) }),
  );
  const client = poster(svc.url, concurrency);
  let done = 0;
  let batchRows = 0;
  const lat: number[] = [];
  let cpu = 0;
  try {
    const warmEnd = performance.now() + 500;
    const end = warmEnd + SECONDS * 1000;
    let cpu0 = 0;
    const marker = setTimeout(() => (cpu0 = cpuSeconds(svc.proc.pid!)), 500);
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = 0; performance.now() < end; i++) {
          const t0 = performance.now();
          const r = await client.send(bodies[(w + i * concurrency) % bodies.length]);
          if (t0 >= warmEnd) {
            done++;
            batchRows += r.batch_rows;
            lat.push(performance.now() - t0);
          }
        }
      }),
    );
    clearTimeout(marker);
    cpu = cpuSeconds(svc.proc.pid!) - cpu0;
  } finally {
    client.close();
    await stopService(svc);
  }
  const meanBatch = batchRows / Math.max(1, done);
  // One session.run of meanBatch rows, shared by meanBatch / rows requests.
  const runPerReq = (await rawRunMs(modelBytes, Math.max(1, Math.round(meanBatch)))) * (rows / meanBatch);
  return { rps: done / SECONDS, rowsPerS: (done * rows) / SECONDS, meanBatch, p50: pct(lat, 0.5), p99: pct(lat, 0.99), cpuPerReq: (1000 * cpu) / Math.max(1, done), runPerReq };
}

/** Resident MiB of an idle service with the given snapshot (or none), after a GC-settling pause. */
async function residentMiB(modelDir: string, snapshotFile: string | null) {
  const svc = await startService(modelDir, snapshotFile ? { FEATURE_SNAPSHOT: snapshotFile } : {});
  try {
    await new Promise((r) => setTimeout(r, 1500));
    return await rankingMemory(svc.url);
  } finally {
    await stopService(svc);
  }
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
    const snap = await snapshot(dir, TABLE_VIDEOS);

    if (only("latency")) await printLatency(dir, bytes, snap);
    if (only("throughput")) await printThroughput(dir, bytes, snap);
    if (only("memory")) await printMemory(dir, snap);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function printLatency(dir: string, bytes: Uint8Array, snap: string): Promise<void> {
  const l = await latency(dir, bytes, snap);
  const q = (xs: number[]) => [f1(pct(xs, 0.5)), f1(pct(xs, 0.99))];
  const target = (k: number) => 1.3 * pct(l.raw, k) + pct(l.floor, k);
  console.log(`\nRanking latency, 5,000 candidates → top 50 (CPU backend, ${REQUESTS} sequential calls; by ids: features from the service's table of ${TABLE_VIDEOS.toLocaleString("en")} videos)\n`);
  console.log(
    table([
      ["path", "p50 ms", "p99 ms"],
      ["raw session.run (5,000 rows)", ...q(l.raw)],
      ["loopback transport floor (GET /healthz, same server, node:http)", ...q(l.floor)],
      ["by ids: encode request (packed ids + JSON)", ...q(l.idsEncode)],
      ["by ids: HTTP round trip (POST → parsed response)", ...q(l.idsHttp)],
      ["by ids: whole call (encode + round trip)", ...q(l.idsTotal)],
      ["target: 1.3 × raw + floor", f1(target(0.5)), f1(target(0.99))],
      ["ratio by-ids call / target (≤ 1 meets it)", f1(pct(l.idsTotal, 0.5) / target(0.5)), f1(pct(l.idsTotal, 0.99) / target(0.99))],
      ["ratio by-ids call / raw", f1(pct(l.idsTotal, 0.5) / pct(l.raw, 0.5)), f1(pct(l.idsTotal, 0.99) / pct(l.raw, 0.99))],
      ["client: encode request (base64 + JSON)", ...q(l.encode)],
      ["HTTP round trip (POST → parsed response)", ...q(l.http)],
      ["whole call (encode + round trip)", ...q(l.total)],
      ["ratio round trip / raw", f1(pct(l.http, 0.5) / pct(l.raw, 0.5)), f1(pct(l.http, 0.99) / pct(l.raw, 0.99))],
    ]),
  );
}

async function printThroughput(dir: string, bytes: Uint8Array, snap: string): Promise<void> {
  const concurrency = 64;
  const out: string[][] = [["request size, mode", "req/s", "rows/s", "mean batch rows", "p50 ms", "p99 ms", "service CPU ms/req", "session.run ms/req"]];
  const ratios: string[] = [];
  const cpuRatios: string[] = [];
  for (const [form, rows] of [["columnar", 1], ["columnar", 100], ["ids", 100], ["ids", 1000]] as const) {
    const runs = [];
    const size = form === "ids" ? `${rows} ids` : `${rows} row${rows > 1 ? "s" : ""}`;
    for (const batched of [false, true]) {
      const t = await throughput(dir, bytes, snap, form, rows, batched, concurrency);
      runs.push(t);
      out.push([
        `${size}, ${batched ? "batched (max 16384 rows, 2 ms)" : "unbatched (1 request per run)"}`,
        t.rps.toFixed(0), t.rowsPerS.toFixed(0), f1(t.meanBatch), f1(t.p50), f1(t.p99), t.cpuPerReq.toFixed(3), t.runPerReq.toFixed(3),
      ]);
    }
    ratios.push(`${size} ${f1(runs[1].rps / runs[0].rps)}×`);
    cpuRatios.push(`${size} ${f1(runs[0].cpuPerReq / runs[1].cpuPerReq)}×`);
  }
  console.log(`\nThroughput at concurrency ${concurrency} (${SECONDS} s each, keep-alive node:http client and service on this machine)\n`);
  console.log(table(out));
  console.log(`\nbatched / unbatched, requests/s: ${ratios.join(", ")}`);
  // What the service itself spends per request (all its threads): the ratio a service that is the only
  // thing on its CPU would reach; requests/s above also carries the client and the other processes here.
  console.log(`batched / unbatched, service CPU per request (unbatched ÷ batched): ${cpuRatios.join(", ")}`);
  console.log("session.run ms/req: a raw session.run of the mean batch, divided by the requests in it — the only cost batching shares.");
}

async function printMemory(dir: string, snap: string): Promise<void> {
  const none = await residentMiB(dir, null);
  const m100 = await residentMiB(dir, snap);
  const m200 = await residentMiB(dir, await snapshot(dir, 2 * TABLE_VIDEOS));
  const mib = (x: number) => (x / 1048576).toFixed(1);
  console.log(`\nRanking service memory (idle, after loading; RSS from its /metrics)\n`);
  console.log(
    table([
      ["feature table", "resident MiB", "table MiB", "table version"],
      ["none", mib(none.rss), "0", "-"],
      ["100k videos", mib(m100.rss), mib(m100.tableBytes), m100.version ?? "-"],
      ["200k videos", mib(m200.rss), mib(m200.tableBytes), m200.version ?? "-"],
      // RSS per 100k is the marginal cost (200k − 100k): the first load also grows V8's heap for the parse.
      ["ranking service memory per 100k videos", mib(m200.rss - m100.rss), mib(m200.tableBytes / 2), "-"],
    ]),
  );
}

await main();
