import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { neonConfig } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis/cloudflare";
import { WebSocket } from "ws";
import { openDb } from "../origin/db.ts";
import { readRetrying } from "../origin/db-retry.ts";
import type { OriginConfig } from "../origin/env.ts";
import { REDIS_TIMEOUT_MS } from "../origin/redis.ts";
import { retryRow } from "../shared/config.ts";
import { retry } from "../shared/retry.ts";
import { freePort } from "../scripts/local/free-port.ts";
import { startNeonProxy } from "../scripts/local/neon-ws-proxy.ts";
import { startPostgres } from "../scripts/local/postgres.ts";
import { startRedis } from "../scripts/local/redis.ts";
import { startUpstashBridge } from "../scripts/local/upstash-bridge.ts";

// Can this box meet the seed's per-try timeouts (issue 12 item 5)? The two fast rows, on the local stack's
// own paths, from Node (the origin runs them from workerd, which adds its own fetch overhead):
//  - feature store: the origin's Upstash client (origin/redis.ts settings) → the local REST bridge →
//    redis-server: GET of a user's features and MGET of 10 / 50 videos' features (their real sizes);
//  - DB read: the origin's Db (origin/db.ts: a pool per request, Neon driver → local WebSocket proxy →
//    Postgres): a request's first read (connection set-up included) and a read on the open connection.
// For each: latency percentiles of single tries, then the reads run through the real retry loop under
// the row with the seed's per-try timeout and with looser ones: the share of reads that still failed
// after every try (what would mark the dependency down and drive the level), and tries per read.
//   node bench/retry-tries.ts [--reads 400 --concurrency 4 --fs-try 5,10,20,50 --db-try 100,200,400 --only fs|db]
const { values } = parseArgs({
  options: {
    reads: { type: "string", default: "400" }, concurrency: { type: "string", default: "4" },
    "fs-try": { type: "string", default: "5,10,20,50" }, "db-try": { type: "string", default: "100,200,400" },
    only: { type: "string" }, // "fs" or "db"
  },
});
const READS = Number(values.reads);
const CONC = Number(values.concurrency);
const TOKEN = "bench-token";

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (x: number) => x.toFixed(1).padStart(7);
/** Runs `n` calls of `f(i)` with `CONC` in flight; returns each call's duration (ms). */
async function timed(n: number, f: (i: number) => Promise<unknown>): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      try {
        await f(i);
      } catch {
        failed++;
      }
      ms.push(performance.now() - t0);
    }
  }));
  return { ms, failed };
}
function latencyRow(name: string, ms: number[], seedTryMs: number): void {
  const over = ms.filter((x) => x > seedTryMs).length / ms.length;
  console.log(`  ${name.padEnd(34)} p50 ${fmt(pct(ms, 50))}  p90 ${fmt(pct(ms, 90))}  p99 ${fmt(pct(ms, 99))}  max ${fmt(Math.max(...ms))}  > ${seedTryMs} ms: ${(100 * over).toFixed(1)}%`);
}

console.log(`retry-tries: ${READS} reads per row, ${CONC} in flight, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} on this box`);
const dir = mkdtempSync(join(tmpdir(), "fyp-retry-bench-"));
chmodSync(dir, 0o755);
const redisSrv = await startRedis({ port: await freePort(), dir: join(dir, "redis"), name: "bench-redis" });
const bridge = await startUpstashBridge({ port: 0, redisPort: redisSrv.port, token: TOKEN });
const pgSrv = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort() });
const proxy = await startNeonProxy({ port: 0 });
try {
  if (values.only !== "db") {
  // ---- feature store (Redis through the REST bridge) ----
  const redis = new Redis({ url: bridge.url, token: TOKEN, automaticDeserialization: false, retry: { retries: 0 }, signal: () => AbortSignal.timeout(REDIS_TIMEOUT_MS) });
  const emb = Buffer.alloc(64, 7).toString("base64"); // 16 float32s, as origin/feature-store.ts stores them
  const p = new Redis({ url: bridge.url, token: TOKEN, automaticDeserialization: false }).pipeline(); // setup: no 150 ms cut
  for (let i = 0; i < 5000; i++) p.set(`fs:v:${i}`, JSON.stringify({ a: "123", e: emb, w: 1000, l: 10, c: Date.now(), d: 15000, t: `caption ${i}`, r: "us" }), { ex: 3600 });
  for (let i = 0; i < 1000; i++) p.set(`fs:u:${i}`, JSON.stringify({ e: emb, h: "us", f: Array.from({ length: 50 }, (_, k) => String(k)), r: Array.from({ length: 200 }, (_, k) => String(k)) }), { ex: 3600 });
  await p.exec();
  const fsReads: [string, (i: number) => Promise<unknown>][] = [
    ["GET user", (i) => redis.get(`fs:u:${i % 1000}`)],
    ["MGET 10 videos", (i) => redis.mget(...Array.from({ length: 10 }, (_, k) => `fs:v:${(i * 10 + k) % 5000}`))],
    ["MGET 50 videos", (i) => redis.mget(...Array.from({ length: 50 }, (_, k) => `fs:v:${(i * 50 + k) % 5000}`))],
  ];
  const fsSeed = retryRow("featureStore").perTryTimeoutMs;
  console.log(`\nfeature store: one try (seed per try ${fsSeed} ms)`);
  for (const [name, f] of fsReads) latencyRow(name, (await timed(READS, f)).ms, fsSeed);
  console.log(`feature store: reads through the row (2 retries, 10/50 ms ±10%): failed after every try / tries per read`);
  for (const tryMs of values["fs-try"].split(",").map(Number)) {
    const row = retryRow("featureStore", tryMs);
    const cells: string[] = [];
    for (const [name, f] of fsReads) {
      let tries = 0;
      const { failed } = await timed(READS, (i) => retry(() => (tries++, f(i)), row));
      cells.push(`${name} ${(100 * failed / READS).toFixed(1)}% / ${(tries / READS).toFixed(2)}`);
    }
    console.log(`  per try ${String(tryMs).padStart(4)} ms${tryMs === fsSeed ? " (seed)" : "       "}: ${cells.join("   ")}`);
  }

  }
  if (values.only !== "fs") {
  // ---- DB read (Neon driver → WebSocket proxy → Postgres, a pool per request) ----
  neonConfig.webSocketConstructor = WebSocket as unknown as typeof neonConfig.webSocketConstructor;
  const url = pgSrv.url("fyp_us");
  const cfg = { DATABASE_URL: url, NEON_WS_PROXY: `127.0.0.1:${proxy.port}` } as OriginConfig;
  const setup = openDb(cfg);
  await setup.query("CREATE TABLE IF NOT EXISTS bench_users (user_id bigint PRIMARY KEY, home_region text NOT NULL, embedding real[] NOT NULL)", [], 10_000);
  await setup.query(`INSERT INTO bench_users SELECT g, 'us', array_fill(0.25::real, ARRAY[16]) FROM generate_series(1, 10000) g ON CONFLICT DO NOTHING`, [], 30_000);
  await setup.end();
  const lookup = "SELECT home_region, embedding FROM bench_users WHERE user_id = $1";
  const dbSeed = retryRow("dbRead").perTryTimeoutMs;
  const first: number[] = [];
  const warm: number[] = [];
  await timed(READS, async (i) => {
    const db = openDb(cfg);
    try {
      let t0 = performance.now();
      await db.query(lookup, [1 + (i % 10000)], 10_000);
      first.push(performance.now() - t0);
      t0 = performance.now();
      await db.query(lookup, [1 + ((i * 7) % 10000)], 10_000);
      warm.push(performance.now() - t0);
    } finally {
      await db.end();
    }
  });
  console.log(`\nDB read: one try (seed per try ${dbSeed} ms)`);
  latencyRow("first read of a request (connects)", first, dbSeed);
  latencyRow("read on the open connection", warm, dbSeed);
  console.log(`DB read: a request's first read through the row (3 retries, 10/50/200 ms ±20%): failed after every try / tries per read`);
  for (const tryMs of values["db-try"].split(",").map(Number)) {
    const row = retryRow("dbRead", tryMs);
    let tries = 0;
    const { failed } = await timed(READS, async (i) => {
      const raw = openDb(cfg);
      const counted = { ...raw, query: <T>(s: string, p?: unknown[], t?: number) => (tries++, raw.query<T>(s, p, t)) };
      try {
        await readRetrying(counted, row).query(lookup, [1 + (i % 10000)]);
      } finally {
        await raw.end();
      }
    });
    console.log(`  per try ${String(tryMs).padStart(4)} ms${tryMs === dbSeed ? " (seed)" : "       "}: ${(100 * failed / READS).toFixed(1)}% / ${(tries / READS).toFixed(2)}`);
  }
  }
} finally {
  await proxy.close();
  await pgSrv.stop().catch(() => {});
  await bridge.close();
  await redisSrv.stop();
  rmSync(dir, { recursive: true, force: true });
}
