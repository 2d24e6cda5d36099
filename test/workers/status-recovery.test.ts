/// <reference types="@cloudflare/vitest-plugin/types" />
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { MachineEvent } from "../../edge/region-health-machine.ts";
import { feedRegionHealth, regionHealthRpc } from "./support/region-health-do.ts";

// GET /v1/status while a region is recovering at 10% weight (issue 12): the region's reads are split,
// a tenth served by itself at level 0 and the rest by the other regions at level 4. Status reports that
// split as shares, not one random draw per poll, so every poll during recovery gives the same answer.
// The RegionHealth object takes the removal and the recovery as machine events with explicit times (the
// test config's origins are unreachable, so no probe would ever succeed); the production full-weight
// delay (5 min) keeps the region recovering for the whole test.
const rh = () => regionHealthRpc<"reset" | "configure">();
const feed = feedRegionHealth;

type Reads = { region: string; share: number; level: number }[];
type RegionStatus = { degradation_level: number; serving_from: string; reads: Reads };
const regionsNow = async () => ((await (await SELF.fetch("http://edge/v1/status")).json()) as { regions: Record<string, RegionStatus> }).regions;
const POLLS = 20;

describe("/v1/status during a region's recovery", () => {
  it(`eu back at 10% weight: ${POLLS} polls, one answer (its split as shares, the worst level, the largest share's region)`, async () => {
    await rh().reset();
    await rh().configure({ probeIntervalMs: 60_000, failuresToRemove: 3, antiFlapMs: 100, fullWeightAfterMs: 300_000 });
    const t = Date.now();
    const fail = (at: number): MachineEvent => ({ type: "probe_fail", region: "eu", at, error: "timeout" });
    expect((await feed([fail(t), fail(t + 1), fail(t + 2), { type: "tick", at: t + 200 }])).regions.eu.state).toBe("removed");
    expect((await feed([{ type: "probe_ok", region: "eu", at: t + 300, latencyMs: 5 }])).regions.eu).toMatchObject({ state: "recovering", weight: 0.1 });

    // The edge's routing snapshot is cached for 1 s: wait until status sees eu back in rotation.
    let regions = await regionsNow();
    for (const end = Date.now() + 5_000; regions.eu.reads.length < 3 && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) regions = await regionsNow();
    const expected = {
      // Level 4: nine tenths of eu's readers are failed over (the unreachable test origins report none of their own).
      degradation_level: 4,
      serving_from: "us",
      reads: [{ region: "us", share: 0.45, level: 4 }, { region: "apac", share: 0.45, level: 4 }, { region: "eu", share: 0.1, level: 0 }],
    };
    expect(regions.eu).toMatchObject(expected);
    // The regions at full weight serve all their own reads.
    expect(regions.us.reads).toEqual([{ region: "us", share: 1, level: 0 }]);

    const answers = new Set<string>();
    for (let i = 0; i < POLLS; i++) {
      const r = (await regionsNow()).eu;
      answers.add(JSON.stringify([r.degradation_level, r.serving_from, r.reads]));
    }
    expect([...answers]).toEqual([JSON.stringify([expected.degradation_level, expected.serving_from, expected.reads])]);
  });

  it("two regions out: every region's reads go to the emergency page (level 5)", async () => {
    await rh().reset();
    await rh().configure({ probeIntervalMs: 60_000, failuresToRemove: 1, antiFlapMs: 0, fullWeightAfterMs: 300_000 });
    const t = Date.now();
    await feed([
      { type: "probe_fail", region: "eu", at: t, error: "timeout" }, { type: "probe_fail", region: "apac", at: t, error: "timeout" }, { type: "tick", at: t + 10 },
    ]);
    let regions = await regionsNow();
    for (const end = Date.now() + 5_000; regions.us.serving_from !== "emergency" && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) regions = await regionsNow();
    for (const r of ["us", "eu", "apac"]) {
      expect(regions[r]).toMatchObject({ degradation_level: 5, serving_from: "emergency", reads: [{ region: "emergency", share: 1, level: 5 }] });
    }
  });
});
