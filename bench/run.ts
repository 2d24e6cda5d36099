import { spawnSync } from "node:child_process";

// `npm run bench`: every benchmark table of DESIGN §5 in one run — ranking service (vs raw session.run,
// batched vs unbatched), then edge and origin against a real local stack.
let failed = 0;
for (const file of ["bench/rank.bench.ts", "bench/stack.bench.ts"]) {
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(process.execPath, [file], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
