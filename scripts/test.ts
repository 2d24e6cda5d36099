import { spawnSync } from "node:child_process";

// `npm test`: typecheck, then every vitest project (unit/integration, workerd, end-to-end against the
// real local stack). Each step's failure fails the run; the summary line counts steps.
const steps: [string, string[]][] = [
  ["typecheck", ["node_modules/typescript/bin/tsc", "-p", ".", "--noEmit"]],
  ["vitest", ["node_modules/vitest/vitest.mjs", "run", ...process.argv.slice(2)]],
];
let failed = 0;
for (const [name, args] of steps) {
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`=== ${name} failed (exit ${r.status ?? r.signal}) ===`);
  }
}
console.log(`\n${steps.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
