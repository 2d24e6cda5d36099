import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../scripts/local/free-port.ts";
import { startPostgres } from "../scripts/local/postgres.ts";
import { seedAll } from "../scripts/seed.ts";

// What durability costs the seed (issue 12 §8): the stack's Postgres runs with fsync, synchronous_commit
// and full_page_writes on (scripts/local/postgres.ts); this seeds a fresh cluster with those settings and
// with all three off (what the stack used before), alternating, and prints the seed times.
//   node bench/seed-durability.bench.ts [--users 10000 --videos 100000 --runs 2]
const { values } = parseArgs({
  options: { users: { type: "string", default: "10000" }, videos: { type: "string", default: "100000" }, runs: { type: "string", default: "2" } },
});
const FAST = { fsync: "off", synchronous_commit: "off", full_page_writes: "off" };
const times: Record<string, number[]> = { durable: [], "all three off": [] };

for (let run = 0; run < Number(values.runs); run++) {
  for (const [name, settings] of [["durable", {}], ["all three off", FAST]] as const) {
    const dir = mkdtempSync(join(tmpdir(), "fyp-seed-bench-"));
    chmodSync(dir, 0o755);
    const pg = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort(), settings });
    try {
      const t0 = performance.now();
      await seedAll({ pgPort: pg.port, users: Number(values.users), videos: Number(values.videos), seed: 42, log: () => {} });
      times[name].push((performance.now() - t0) / 1000);
    } finally {
      await pg.stop();
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
