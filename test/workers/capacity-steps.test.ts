/// <reference types="@cloudflare/vitest-plugin/types" />
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EdgeBindings } from "../../edge/env.ts";
import type { MachineEvent } from "../../edge/region-health-machine.ts";
import { feedRegionHealth, regionHealthRpc } from "./support/region-health-do.ts";
import { CAPACITY_KEY } from "../../edge/scaler-steps.ts";

// Failover capacity steps inside workerd: the RegionHealth object takes a removal and a recovery (machine
// events fed in with explicit times), calls the scaler on each (the local RecordingScaler: no webhook is
// configured), and /v1/status shows the steps as `capacity_steps`, with the factors now in force.
const bindings = env as unknown as EdgeBindings;
const rh = () => regionHealthRpc<"reset" | "configure">();
const feed = feedRegionHealth;
type Capacity = { scaler: string; factors: Record<string, number>; recent: { region: string; factor: number; step: string; because: string[]; outcome: string }[] };
const capacity = async () => ((await (await SELF.fetch("http://edge/v1/status")).json()) as { capacity_steps: Capacity }).capacity_steps;
async function eventually(ok: (c: Capacity) => boolean): Promise<Capacity> {
  for (const end = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 50))) {
    const c = await capacity();
    if (ok(c) || Date.now() > end) return c;
  }
}

describe("capacity steps (failover steps 4 and 8)", () => {
  it("eu removed → us and apac ×1.5, recorded and shown in /v1/status; eu back at full weight → ×1", async () => {
    await bindings.FYP_KV.delete(CAPACITY_KEY);
    await rh().reset();
    await rh().configure({ probeIntervalMs: 60_000, failuresToRemove: 3, antiFlapMs: 100, fullWeightAfterMs: 1000 });
    const t = Date.now();
    const fail = (at: number): MachineEvent => ({ type: "probe_fail", region: "eu", at, error: "timeout" });
    let snap = await feed([fail(t), fail(t + 1), fail(t + 2), { type: "tick", at: t + 200 }]);
    expect(snap.regions.eu.state).toBe("removed");
    let c = await eventually((x) => x.recent.length === 2);
    expect(c.recent).toHaveLength(2);
    expect(c.scaler).toBe("recording");
    expect(c.factors).toEqual({ us: 1.5, eu: 1, apac: 1.5 });
    expect(c.recent.map((s) => [s.region, s.factor, s.step, s.because, s.outcome]).sort()).toEqual([
      ["apac", 1.5, "scale_up", ["eu"], "recorded"], ["us", 1.5, "scale_up", ["eu"], "recorded"],
    ]);

    snap = await feed([{ type: "probe_ok", region: "eu", at: t + 300, latencyMs: 5 }]);
    expect(snap.regions.eu.state).toBe("recovering");
    snap = await feed([{ type: "tick", at: t + 1400 }]);
    expect(snap.regions.eu.state).toBe("healthy");
    c = await eventually((x) => x.recent.length === 4);
    expect(c.recent).toHaveLength(4); // targets, not increments: the later state changes planned nothing more
    expect(c.factors).toEqual({ us: 1, eu: 1, apac: 1 });
    expect(c.recent.slice(0, 2).map((s) => [s.region, s.factor, s.step]).sort()).toEqual([["apac", 1, "scale_back"], ["us", 1, "scale_back"]]);
  });
});
