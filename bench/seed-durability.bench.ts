import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { freePort } from "../scripts/local/free-port.ts";
import { startPostgres } from "../scripts/local/postgres.ts";
import { seedAll } from "../scripts/seed.ts";

// What durability costs (issue 12 §8): the stack's Postgres runs with fsync, synchronous_commit and
// full_page_writes on (scripts/local/postgres.ts). This seeds a fresh cluster with those settings and
// with all three off (what the stack used before), alternating, then times single-row commits like the
// origin's event writes (8 concurrent clients, one INSERT per transaction), and prints both.
//   node bench/seed-durability.bench.ts [--users 10000 --videos 100000 --runs 2 --commits 200]
const { values } = parseArgs({
  options: {
    users: { type: "string", default: "10000" }, videos: { type: "string", default: "100000" }, runs: { type: "string", default: "2" },
    commits: { type: "string", default: "200" },
  },
});
const FAST = { fsync: "off", synchronous_commit: "off", full_page_writes: "off" };
const times: Record<string, number[]> = { durable: [], "all three off": [] };
const commitMs: Record<string, number[]> = { durable: [], "all three off": [] };

/** Per-commit latencies (ms) of `n` single-row INSERTs on each of 8 concurrent connections. */
async function commitLatencies(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, k text UNIQUE, at timestamptz DEFAULT now())");
  await setup.end();
  await Promise.all(Array.from({ length: 8 }, async (_, w) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await c.query("INSERT INTO bench_commit (k) VALUES ($1)", [`${w}-${i}-${Math.random()}`]);
      out.push(performance.now() - t0);
    }
    await c.end();
  }));
  return out;
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

for (let run = 0; run < Number(values.runs); run++) {
  for (const [name, settings] of [["durable", {}], ["all three off", FAST]] as const) {
    const dir = mkdtempSync(join(tmpdir(), "fyp-seed-bench-"));
    chmodSync(dir, 0o755);
    const server = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort(), settings });
    try {
      const t0 = performance.now();
      await seedAll({ pgPort: server.port, users: Number(values.users), videos: Number(values.videos), seed: 42, log: () => {} });
      times[name].push((performance.now() - t0) / 1000);
      commitMs[name].push(...(await commitLatencies(server.url("fyp_us"), Number(values.commits))));
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log(`\nseed of ${values.users} users / ${values.videos} videos into a fresh cluster (s):\n`);
console.log("| settings | runs | median | min | max |\n|---|---|---|---|---|");
for (const [name, t] of Object.entries(times)) {
  const s = [...t].sort((a, b) => a - b);
  console.log(`| ${name} | ${s.map((x) => x.toFixed(1)).join(", ")} | ${s[Math.floor(s.length / 2)].toFixed(1)} | ${s[0].toFixed(1)} | ${s[s.length - 1].toFixed(1)} |`);
}
console.log(`\nsingle-row INSERT commits, 8 concurrent connections (ms):\n`);
console.log("| settings | commits | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|");
for (const [name, t] of Object.entries(commitMs)) {
  console.log(`| ${name} | ${t.length} | ${pct(t, 50).toFixed(1)} | ${pct(t, 90).toFixed(1)} | ${pct(t, 99).toFixed(1)} | ${pct(t, 100).toFixed(1)} |`);
}
