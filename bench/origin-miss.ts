// Origin miss path at 5,000 candidates → top 50 (DESIGN §5: p50 ≤ 10 ms, p99 ≤ 25 ms), against a running
// local stack, and the ranking service's resident memory with its video feature table. Called by
// bench/stack.bench.ts (and bench/origin-miss.bench.ts on its own).
//
// Every measured request is a signed-in user's first page: it always ranks afresh (a new chain: no chain
// or app-cache entry to reuse), sequentially, straight to the us origin. Two passes over the same users:
//   1. first visit: the user's features are not in the feature store yet (read from Postgres, written back);
//   2. the miss the target is about: the origin ranks a new chain for a user whose features are in the
//      feature store (the seed's 90% hit rate), with the isolate's candidate lists as steady traffic
//      leaves them (origin/candidate-lists.ts).
// The first `warmup` users of each pass are not measured (isolate, connections, model).
import { loadavg } from "node:os";
import pg from "pg";
import { FORCED_LEVEL_HEADER } from "../shared/forced-level-header.ts";
import { LOCAL_PG, regionDatabase } from "../shared/local-ports.ts";
import { percentile, table } from "./load.ts";
import { treeCpuSeconds } from "./rss.ts";

export interface OriginMissOptions {
  originUrl: string;
  rankingUrl: string;
  pgPort: number;
  internalSecret: string;
  users?: number; // default 120
  warmup?: number; // default 20
  /** Processes whose CPU time per request is reported (name → pid; each with its descendants). */
  procs?: Record<string, number>;
}

/** CPU seconds of each named process tree, plus this process (the client, and the Upstash bridges and Neon proxy the stack runs in it). */
function cpuNow(procs: Record<string, number>): Record<string, number> {
  const own = process.cpuUsage();
  return { ...Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, treeCpuSeconds(pid)])), "bench process (client, Upstash bridges, Neon proxy)": (own.user + own.system) / 1e6 };
}

interface Pass {
  lat: number[];
  parts: Record<string, number[]>;
  sources: Map<string, number>;
}

async function pass(o: OriginMissOptions, users: string[], warmup: number): Promise<Pass> {
  const out: Pass = { lat: [], parts: {}, sources: new Map() };
  for (const [i, u] of users.entries()) {
    const t = performance.now();
    // Level 0 forced, as an admin would (the edge sends the header on every read): the bench measures the
    // level-0 path, whatever the shared box's database latency makes the automatic level do meanwhile.
    const r = await fetch(`${o.originUrl}/internal/v1/feed?count=50&user_id=${u}`, { headers: { "x-internal-secret": o.internalSecret, [FORCED_LEVEL_HEADER]: "0" } });
    const body = (await r.json()) as { source: string };
    const ms = performance.now() - t;
    if (i < warmup) continue;
    out.lat.push(ms);
    out.sources.set(body.source, (out.sources.get(body.source) ?? 0) + 1);
    for (const seg of (r.headers.get("server-timing") ?? "").split(",")) {
      const m = /([a-z]+);dur=([0-9.]+)/.exec(seg.trim());
      if (m) (out.parts[m[1]] ??= []).push(Number(m[2]));
    }
  }
  return out;
}

const availableCpus = () => (typeof (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency === "number" ? navigator.hardwareConcurrency : "?");
const p = (xs: number[] | undefined, q: number) => (xs?.length ? percentile([...xs].sort((a, b) => a - b), q) : NaN);

/** Resident bytes and feature-table figures of the ranking service (its /metrics and /v1/features). */
export async function rankingMemory(rankingUrl: string): Promise<{ rss: number; rows: number; tableBytes: number; version: string | null }> {
  const metrics = await (await fetch(`${rankingUrl}/metrics`)).text();
  const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  const f = (await fetch(`${rankingUrl}/v1/features`).then((r) => (r.ok ? r.json() : null), () => null)) as { rows: number; bytes: number; version: string } | null;
  return { rss, rows: f?.rows ?? 0, tableBytes: f?.bytes ?? 0, version: f?.version ?? null };
}

/** Runs both passes and prints the origin-miss table and the ranking service's memory row. */
export async function originMiss(o: OriginMissOptions): Promise<void> {
  const n = o.users ?? 120;
  const warmup = o.warmup ?? 20;
  const c = new pg.Client({ host: "127.0.0.1", port: o.pgPort, database: regionDatabase("us"), ...LOCAL_PG });
  await c.connect();
  const users = (await c.query("SELECT user_id FROM users ORDER BY user_id LIMIT $1", [n])).rows.map((r) => `u${r.user_id}`);
  await c.end();
  const first = await pass(o, users, warmup);
  const cpu0 = cpuNow(o.procs ?? {});
  const load0 = loadavg()[0];
  const miss = await pass(o, users, 0); // warm already: every request is measured (CPU included)
  const cpu1 = cpuNow(o.procs ?? {});
  const load1 = loadavg()[0];
  // Release the forced level (the origin keeps the last header it saw).
  await fetch(`${o.originUrl}/internal/v1/feed?count=1`, { headers: { "x-internal-secret": o.internalSecret, [FORCED_LEVEL_HEADER]: "none" } }).then((r) => r.arrayBuffer());
  const segs = [...new Set([...Object.keys(miss.parts), ...Object.keys(first.parts)])];
  const src = (x: Pass) => [...x.sources].map(([k, v]) => `${k}:${v}`).join(" ");
  table(
    `Origin miss path: 5,000-candidate pool → top 50, ${miss.lat.length} distinct users, sequential, level 0 forced (1-min load average ${load0.toFixed(1)} → ${load1.toFixed(1)} on ${availableCpus()} CPUs), ranked by candidate ids against the ranking service's feature table (sources: ${src(miss)}; first visit: ${src(first)}; "origin" = ranked, anything else = a fallback)`,
    ["segment", "p50 ms", "p99 ms", "target p50 / p99", "first visit p50", "first visit p99"],
    [
      ["client round trip", p(miss.lat, 0.5), p(miss.lat, 0.99), "10 / 25", p(first.lat, 0.5), p(first.lat, 0.99)],
      ...segs.map((k) => [`server-timing ${k}`, p(miss.parts[k], 0.5), p(miss.parts[k], 0.99), "-", p(first.parts[k], 0.5), p(first.parts[k], 0.99)] as (string | number)[]),
    ],
  );
  // Work per miss, whatever the box's other load: CPU the processes on the path spent per request. On a
  // machine with the CPU to itself, a miss costs about this (its steps are sequential) plus loopback hops.
  const n2 = miss.lat.length;
  const cpuRows = Object.keys(cpu1).map((k) => [k, (1000 * (cpu1[k] - cpu0[k])) / n2] as [string, number]);
  table(`CPU per origin miss (the same ${n2} requests; user + system time of each process tree, /proc)`, ["process", "CPU ms per miss"], [
    ...cpuRows, ["all of them", cpuRows.reduce((t, [, v]) => t + v, 0)],
  ]);
  const mem = await rankingMemory(o.rankingUrl);
  table("Ranking service memory (after the origin-miss passes)", ["process", "resident MiB", "feature table videos", "feature table MiB", "table version"], [
    ["ranking service (model + feature table)", mem.rss / 1048576, mem.rows, mem.tableBytes / 1048576, mem.version ?? "-"],
  ]);
}
