import { describe, expect, it } from "vitest";
import { REGION_VALUES, type Region } from "../../shared/regions.ts";
import { DEFAULT_TIMINGS } from "../../edge/region-health-config.ts";
import {
  initialState, normalizeState, step, type AlertPayload, type HealthEvent, type MachineEvent, type MachineState,
} from "../../edge/region-health-machine.ts";
import { roundsMayOverlap, roundTiming } from "../../edge/region-health-schedule.ts";
import { snapshotOf } from "../../edge/region-health-snapshot.ts";

// The whole failover procedure (DESIGN.md §3 "Regions", issue 12 item 6) with the production values —
// probe every 10 s, 3 failures, 30 s anti-flap, 10% re-add, full weight after 5 min — driven by a fake
// clock: alarms fire late by up to 0.9 s as real ones do, and the loop follows RegionHealth.alarm()
// exactly (roundTiming → tick at the slot → probes stamped with the slot).
const T = DEFAULT_TIMINGS;
const S0 = 1_700_000_000_000; // a round whose probes all succeeded
const sec = (n: number) => n * 1000;

interface World {
  /** Whether `region`'s origin answers a probe sent at `at`. */
  up(region: Region, at: number): boolean;
  /** Request errors the edge reports (region, time), e.g. 5xx on feed calls. */
  requestErrors?: Array<{ region: Region; at: number }>;
  /** Whether `region`'s global tables match the others' at `at` (recovery step 8); default always. */
  inSync?(region: Region, at: number): boolean;
}
interface Trace {
  state: MachineState;
  events: HealthEvent[];
  alerts: AlertPayload[];
  rounds: number[];
}

/** Runs alarm rounds from S0 until `until`, interleaving request errors in time order. */
function simulate(world: World, until: number, lateMs = (k: number) => (k * 337) % 900): Trace {
  let state = initialState(S0 - 1);
  const events: HealthEvent[] = [];
  const alerts: AlertPayload[] = [];
  const rounds: number[] = [];
  const apply = (e: MachineEvent) => {
    const r = step(state, e, T);
    state = r.state;
    events.push(...r.emitted);
    alerts.push(...r.alerts);
  };
  const pending = [...(world.requestErrors ?? [])].sort((a, b) => a.at - b.at);
  let planned = S0;
  for (let k = 0; planned <= until; k++) {
    const now = planned + lateMs(k);
    while (pending.length && pending[0].at < now) {
      const e = pending.shift()!;
      apply({ type: "request_error", region: e.region, at: e.at, error: "origin answered 503" });
    }
    const { slotAt, nextAt } = roundTiming(planned, now, T.probeIntervalMs);
    rounds.push(slotAt);
    apply({ type: "tick", at: slotAt });
    for (const region of REGION_VALUES) {
      // As RegionHealth.withSyncChecks: the sync check goes with the probe of a removed region.
      const sync = state.regions[region].health === "removed"
        ? (world.inSync?.(region, slotAt) ?? true) ? { in_sync: true, detail: "in sync" } : { in_sync: false, detail: "videos/us@eu" }
        : undefined;
      apply(world.up(region, slotAt) ? { type: "probe_ok", region, at: slotAt, latencyMs: 15, ...(sync ? { sync } : {}) } : { type: "probe_fail", region, at: slotAt, error: "timeout" });
    }
    planned = nextAt;
  }
  return { state, events, alerts, rounds };
}

const outage = (region: Region, from: number, to: number): World["up"] => (r, at) => r !== region || at < from || at >= to;
const when = (t: Trace, region: Region, to: string) => t.events.filter((e) => e.region === region && e.to === to).map((e) => e.at);

describe("failover procedure with the production timings", () => {
  it("outage just after a good probe: each step on time, removed within 60 s, back to full weight 5 min after re-add", () => {
    const t0 = S0 + 1; // worst case: the outage starts 1 ms after the S0 probe succeeded
    const t1 = S0 + sec(183); // origin back mid-slot
    const t = simulate({ up: outage("eu", t0, t1) }, S0 + sec(600));

    // Rounds every 10 s exactly, although every alarm fired late by up to 0.9 s.
    expect(new Set(t.rounds.slice(1).map((r, i) => r - t.rounds[i]))).toEqual(new Set([T.probeIntervalMs]));

    expect(when(t, "eu", "suspect")).toEqual([S0 + sec(10)]); // first failure
    expect(when(t, "eu", "anti_flap")).toEqual([S0 + sec(30)]); // third failure: anti-flap wait starts
    const [removedAt] = when(t, "eu", "removed");
    expect(removedAt).toBe(S0 + sec(60)); // anti-flap over, still failing: removed
    expect(removedAt - t0).toBeLessThanOrEqual(sec(60));
    expect(when(t, "eu", "recovering")).toEqual([S0 + sec(190)]); // first probe after the origin is back: 10%
    expect(when(t, "eu", "healthy")).toEqual([S0 + sec(490)]); // 5 min without errors: full weight
    expect(t.events.filter((e) => e.region !== "eu")).toEqual([]);

    const inc = t.state.incidents[0];
    expect(t.state.incidents).toHaveLength(1);
    expect(inc).toMatchObject({
      region: "eu", title: "Region eu unhealthy: 5 consecutive probe failures", status: "resolved",
      detected_at: S0 + sec(10), threshold_at: S0 + sec(30), opened_at: S0 + sec(60), removed_at: S0 + sec(60),
      recovering_at: S0 + sec(190), resolved_at: S0 + sec(490), request_errors: 0,
    });
    expect(t.alerts).toEqual([
      { type: "region_down", region: "eu", incident_id: inc.id, title: inc.title, at: S0 + sec(60) },
      { type: "region_recovered", region: "eu", incident_id: inc.id, title: inc.title, at: S0 + sec(490) },
    ]);
    const v = snapshotOf(t.state, T);
    expect(v.regions.eu).toMatchObject({ state: "healthy", weight: 1 });
    expect(v.level).toBe(0);
  });

  it("removal takes at most 60 s wherever the outage starts between two probes", () => {
    for (const offset of [1, sec(2.5), sec(5), sec(9.999)]) {
      const t0 = S0 + offset;
      const t = simulate({ up: outage("apac", t0, Infinity) }, S0 + sec(90));
      const [removedAt] = when(t, "apac", "removed");
      expect(removedAt - t0, `outage at +${offset} ms`).toBeLessThanOrEqual(sec(60));
      expect(removedAt - t0).toBeGreaterThan(sec(50));
    }
  });

  it("request errors during the 10% ramp push full weight to 5 min after the last error", () => {
    const t = simulate(
      { up: outage("us", S0 + 1, S0 + sec(183)), requestErrors: [{ region: "us", at: S0 + sec(250.5) }, { region: "us", at: S0 + sec(301.2) }] },
      S0 + sec(700),
    );
    expect(when(t, "us", "recovering")).toEqual([S0 + sec(190)]);
    // Last error at +301.2 s → due at +601.2 s → the first round after that, +610 s.
    expect(when(t, "us", "healthy")).toEqual([S0 + sec(610)]);
    expect(t.state.incidents[0]).toMatchObject({ request_errors: 2, last_request_error_at: S0 + sec(301.2), resolved_at: S0 + sec(610) });
    expect(t.alerts.map((a) => [a.type, a.at])).toEqual([["region_down", S0 + sec(60)], ["region_recovered", S0 + sec(610)]]);
  });
});

describe("recovery step 8: re-add only once the global tables are in sync", () => {
  it("a region back up but behind on replication stays out (reason on the region and the incident) until it catches up", () => {
    const t1 = S0 + sec(183); // origin back mid-slot …
    const synced = S0 + sec(247); // … but its catalogue matches the others only from here
    const t = simulate({ up: outage("eu", S0 + 1, t1), inSync: (r, at) => r !== "eu" || at >= synced }, S0 + sec(650));
    expect(when(t, "eu", "removed")).toEqual([S0 + sec(60), S0 + sec(190)]); // the second: "not re-added", logged once
    expect(t.events.find((e) => e.at === S0 + sec(190))?.reason).toBe("probe ok, not re-added: global tables not in sync (videos/us@eu)");
    expect(when(t, "eu", "recovering")).toEqual([S0 + sec(250)]); // first round after the tables match
    expect(when(t, "eu", "healthy")).toEqual([S0 + sec(550)]); // and 5 min at 10% from there
    expect(t.state.incidents[0]).toMatchObject({ recovering_at: S0 + sec(250), resolved_at: S0 + sec(550), sync_check: { at: S0 + sec(250), in_sync: true } });

    // Mid-way, /v1/status shows why eu is still out.
    const mid = simulate({ up: outage("eu", S0 + 1, t1), inSync: (r, at) => r !== "eu" || at >= synced }, S0 + sec(220));
    expect(snapshotOf(mid.state, T).regions.eu).toMatchObject({ state: "removed", weight: 0, awaitingSync: "videos/us@eu" });
    expect(mid.state.incidents[0]).toMatchObject({ status: "investigating", recovering_at: null, sync_check: { at: S0 + sec(220), in_sync: false, detail: "videos/us@eu" } });
  });

  it("regions that never diverged come back as before (the check passes on the first good probe)", () => {
    const t = simulate({ up: outage("apac", S0 + 1, S0 + sec(183)), inSync: () => true }, S0 + sec(500));
    expect(when(t, "apac", "recovering")).toEqual([S0 + sec(190)]);
    expect(snapshotOf(t.state, T).regions.apac.awaitingSync).toBeNull();
  });
});

describe("probe schedule", () => {
  const I = T.probeIntervalMs;
  it("keeps a fixed grid: the next alarm is the next slot, not now + interval", () => {
    expect(roundTiming(S0, S0, I)).toEqual({ slotAt: S0, nextAt: S0 + I });
    expect(roundTiming(S0, S0 + 1_800, I)).toEqual({ slotAt: S0, nextAt: S0 + I });
    // An alarm that fires early keeps the grid (its round is stamped with the real time, never a future one).
    expect(roundTiming(S0, S0 - 3, I)).toEqual({ slotAt: S0 - 3, nextAt: S0 + I });
  });

  it("skips slots that were missed instead of catching up", () => {
    expect(roundTiming(S0, S0 + 2.5 * I, I)).toEqual({ slotAt: S0 + 2 * I, nextAt: S0 + 3 * I });
    expect(() => roundTiming(S0, S0, 0)).toThrow(RangeError);
  });

  it("with the production timings a round (one 2 s probe timeout) always ends before the next slot", () => {
    expect(T.probeTimeoutMs).toBeLessThan(T.probeIntervalMs);
    expect(roundsMayOverlap(T)).toBe(false);
    expect(roundsMayOverlap({ probeIntervalMs: 500, probeTimeoutMs: 1_000 })).toBe(true);
  });
});

describe("persisted state from before incidents had titles and alerts", () => {
  it("is upgraded on load: open → investigating, empty alert list, no request errors", () => {
    const st = initialState(S0);
    const legacy = {
      ...st,
      regions: { ...st.regions, eu: { ...st.regions.eu, health: "removed", incidentId: "inc-eu-1", lastRequestErrorAt: undefined } },
      incidents: [{ id: "inc-eu-1", region: "eu", status: "open", detected_at: 1, threshold_at: 2, opened_at: 3, removed_at: 3, recovering_at: null, resolved_at: null, last_error: "timeout" }],
    } as unknown as MachineState;
    const up = normalizeState(legacy);
    expect(up.regions.eu.lastRequestErrorAt).toBeNull();
    expect(up.incidents[0]).toMatchObject({ status: "investigating", title: "Region eu unhealthy", alerts: [], request_errors: 0, last_request_error_at: null });
  });
});
