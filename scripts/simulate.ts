// `npm run simulate [-- --out DIR] [--calibration FILE] [--hours H]`: the capacity simulator
// (scripts/capacity/). Simulates one day of every region under the seed's HPA (deploy/k8s/ranking-hpa.yaml)
// and the limits of shared/config.ts, searches for the rule change that keeps ranking p99 within the
// objective, and writes report.md + SVG plots to DIR (default artifacts/capacity).
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./capacity/config.ts";
import { writeReport } from "./capacity/report.ts";
import { runCapacityStudy } from "./capacity/run.ts";

const { values } = parseArgs({ options: { out: { type: "string" }, calibration: { type: "string" }, hours: { type: "string" } } });
const hours = values.hours === undefined ? undefined : Number(values.hours);
if (hours !== undefined && !(hours > 0 && hours <= 24)) {
  console.error("--hours must be in (0, 24]");
  process.exit(2);
}
const out = path.resolve(values.out ?? path.join(ROOT, "artifacts/capacity"));
const run = runCapacityStudy({ calibrationFile: values.calibration, durationS: hours === undefined ? undefined : Math.round(hours * 3600) });
const file = writeReport(run, out);
console.log(`capacity report: ${path.relative(process.cwd(), file)} (${(run.elapsedMs / 1000).toFixed(1)} s simulated work)`);
for (const r of run.seed) {
  const over = Object.values(r.summary).reduce((s, x) => s + x.minutesOverSlo, 0);
  console.log(`  ${r.scenario.id}: seed ${over} region-minutes with p99 > ${run.deployed.slowCallMs} ms`);
}
if (run.change) console.log(`  rule change${run.search?.chosen ? "" : " (closest, none passed)"}: ${run.change.diff.join("; ")}`);
