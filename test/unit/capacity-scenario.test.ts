import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeReport } from "../../scripts/capacity/report.ts";
import { runCapacityStudy, type RunOutput } from "../../scripts/capacity/run.ts";
import { REGION_DAYS } from "../../scripts/capacity/scenarios.ts";
import type { DayScenario } from "../../scripts/capacity/traffic.ts";

// A short day (2 h after a 1 h pre-roll) with the seed's HPA read from deploy/k8s/ranking-hpa.yaml and
// the committed calibration: a viral spike in apac at 00:30, and the loss of eu at 01:00 for 10 minutes.
// The report and plots must be written and agree with the simulated numbers, and the HPA must stay
// within its own rules: replicas in [min, max], never more than +100% per minute.
const scenarios: DayScenario[] = [
  { id: "short-spike", title: "Short spike", regions: REGION_DAYS, spike: { region: "apac", atS: 1800, durationS: 1200, multiplier: 10, followOnFeedPerView: 0.2 } },
  { id: "short-loss", title: "Short region loss", regions: REGION_DAYS, loss: { region: "eu", atS: 3600, downS: 600, failoverMultiplier: 1.5, failoverRanked: true } },
];

let dir = "";
let run: RunOutput;
let report = "";

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "fyp-capacity-"));
  run = runCapacityStudy({ scenarios, durationS: 7200, prerollS: 3600, calibrationFile: "scripts/capacity/calibration.json" });
  report = readFileSync(writeReport(run, dir), "utf8");
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("capacity simulator: a short scenario end to end", () => {
  it("writes report.md with a verdict and a table per scenario, and three SVG plots per scenario", () => {
    expect(report).toContain("## Verdict");
    for (const s of scenarios) {
      expect(report).toContain(`## ${s.title}`);
      for (const kind of ["pods", "qps", "p99"]) {
        const svg = readFileSync(path.join(dir, `${s.id}-${kind}.svg`), "utf8");
        expect(svg.startsWith("<svg ")).toBe(true);
        expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
        expect(svg.match(/<path d="M/g)?.length ?? 0).toBeGreaterThanOrEqual(3); // one line per region at least
        expect(report).toContain(`](${s.id}-${kind}.svg)`);
      }
    }
    expect(readdirSync(dir).filter((f) => f.endsWith(".svg"))).toHaveLength(3 * scenarios.length);
  });

  it("the tables carry the simulated peaks and minutes over the objective", () => {
    for (const [i, r] of run.seed.entries()) {
      const section = report.split(`## ${r.scenario.title}`)[1].split("\n## ")[0];
      for (const [region, s] of Object.entries(r.summary)) {
        const row = section.split("\n").find((l) => l.startsWith(`| ${region} |`));
        expect(row, `${r.scenario.id}/${region}`).toBeDefined();
        const cells = row!.split("|").map((c) => c.trim()).slice(2, -1);
        const seedCell = (k: number) => cells[k].split(" → ")[0];
        expect(seedCell(0)).toBe(Math.round(s.peakPods).toLocaleString("en-US"));
        expect(seedCell(1)).toBe(Math.round(s.peakNodes).toLocaleString("en-US"));
        expect(seedCell(3)).toBe(String(s.minutesOverSlo));
        if (run.changed) expect(cells[0].split(" → ")[1]).toBe(Math.round(run.changed[i].summary[region].peakPods).toLocaleString("en-US"));
      }
    }
  });

  it("replicas stay within [minReplicas, maxReplicas] and grow at most +100% per minute (seed and change)", () => {
    const check = (results: typeof run.seed, min: number, max: number, maxGrowth: number) => {
      for (const r of results) {
        for (const [region, s] of Object.entries(r.summary)) {
          expect(s.minReplicasSeen, `${r.scenario.id}/${region}`).toBeGreaterThanOrEqual(min);
          expect(s.maxReplicasSeen, `${r.scenario.id}/${region}`).toBeLessThanOrEqual(max);
          expect(s.maxGrowthPerMinute, `${r.scenario.id}/${region}`).toBeLessThanOrEqual(maxGrowth);
          for (const v of r.series[region].replicas) expect(v >= min && v <= max).toBe(true);
          expect(s.peakReady).toBeLessThanOrEqual(s.peakPods);
        }
      }
    };
    const seed = run.deployed.hpa;
    check(run.seed, seed.minReplicas, seed.maxReplicas, 2);
    if (run.change && run.changed) {
      const spec = run.change.apply(seed);
      // A fast scale-up (+100% per 15 s) may quadruple replicas within a minute; the seed's +100% per 60 s may not.
      const perMinute = spec.behavior.scaleUp.policies.every((p) => p.type === "Percent" && p.periodSeconds >= 60) ? 2 : 16;
      check(run.changed, spec.minReplicas, spec.maxReplicas, perMinute);
    }
  });

  it("the events show up where they happen: the spike raises apac's ranking load, the lost region's drops to 0", () => {
    const spike = run.seed[0].series.apac.rankCallsPerS;
    expect(spike[40]).toBeGreaterThan(1.2 * spike[20]);
    const loss = run.seed[1].series;
    expect(loss.eu.rankCallsPerS[65]).toBe(0);
    expect(loss.apac.rankCallsPerS[65]).toBeGreaterThan(1.3 * loss.apac.rankCallsPerS[55]); // failover reads ranked
  });
});
