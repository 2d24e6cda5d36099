import { ApiError } from "../../shared/errors.ts";
import { describe, expect, it } from "vitest";
import type { Region } from "../../shared/regions.ts";
import { DEFAULT_TIMINGS, parseTimingOverrides, timingsFromEnv } from "../../edge/region-health-config.ts";
import {
  initialState, MAX_EVENTS, MAX_INCIDENTS, step,
  type AlertPayload, type HealthEvent, type MachineConfig, type MachineEvent, type MachineState,
} from "../../edge/region-health-machine.ts";
import { snapshotOf } from "../../edge/region-health-snapshot.ts";

// The failover procedure of DESIGN.md §3 with the design's own timings (probe every 10 s, 3 failures,
// 30 s anti-flap, 10% re-add, full weight after 5 min) and explicit timestamps.
const CFG: MachineConfig = DEFAULT_TIMINGS;
const T0 = 1_700_000_000_000;
const s = (sec: number) => T0 + sec * 1000;
const fail = (region: Region, sec: number, error = "timeout"): MachineEvent => ({ type: "probe_fail", region, at: s(sec), error });
const ok = (region: Region, sec: number): MachineEvent => ({ type: "probe_ok", region, at: s(sec), latencyMs: 12 });
const tick = (sec: number): MachineEvent => ({ type: "tick", at: s(sec) });

function run(state: MachineState, events: MachineEvent[], cfg: MachineConfig = CFG): { state: MachineState; emitted: HealthEvent[]; alerts: AlertPayload[] } {
  const emitted: HealthEvent[] = [];
  const alerts: AlertPayload[] = [];
  for (const e of events) {
    const r = step(state, e, cfg);
    state = r.state;
    emitted.push(...r.emitted);
    alerts.push(...r.alerts);
  }
  return { state, emitted, alerts };
}
const snap = (st: MachineState, cfg: MachineConfig = CFG) => snapshotOf(st, cfg);

describe("region health machine: removal and recovery", () => {
  it("3 failures → anti-flap wait → removal → 10% re-add → full weight, with the incident opened and resolved", () => {
    let st = initialState(T0);
    st = run(st, [fail("us", 0)]).state;
    expect(snap(st).regions.us).toMatchObject({ state: "suspect", weight: 1, consecutiveFailures: 1, lastError: "timeout" });
    st = run(st, [fail("us", 10)]).state;
    expect(snap(st).regions.us).toMatchObject({ state: "suspect", consecutiveFailures: 2 });

    // Third failure: the threshold is reached, but the region stays in rotation during the anti-flap wait.
    st = run(st, [fail("us", 20)]).state;
    expect(snap(st).regions.us).toMatchObject({ state: "anti_flap", weight: 1 });
    expect(snap(st).level).toBe(0);
    st = run(st, [fail("us", 30), fail("us", 40), tick(49.999)]).state;
    expect(snap(st).regions.us.state).toBe("anti_flap");
    expect(st.incidents).toHaveLength(0);

    // Still failing when the 30 s window ends: removed, others reweighted, incident opened.
    st = run(st, [fail("us", 50)]).state;
    let v = snap(st);
    expect(v.regions.us).toMatchObject({ state: "removed", weight: 0, share: 0, consecutiveFailures: 6 });
    expect(v.regions.eu.share).toBeCloseTo(0.5);
    expect(v.regions.apac.share).toBeCloseTo(0.5);
    expect(v.level).toBe(4);
    expect(v.levels).toEqual({ us: 4, eu: 0, apac: 0 });
    expect(v.incidents).toEqual([
      expect.objectContaining({
        region: "us", title: "Region us unhealthy: 6 consecutive probe failures", status: "investigating",
        detected_at: s(0), threshold_at: s(20), opened_at: s(50), removed_at: s(50),
        recovering_at: null, resolved_at: null, last_error: "timeout",
      }),
    ]);
    const incidentId = v.incidents[0].id;

    // Probes succeed again: re-added at 10% weight; the incident stays open during the ramp.
    st = run(st, [ok("us", 60)]).state;
    v = snap(st);
    expect(v.regions.us).toMatchObject({ state: "recovering", weight: 0.1, consecutiveFailures: 0, lastOkAt: s(60), latencyMs: 12 });
    expect(v.regions.us.share).toBeCloseTo(0.1 / 2.1);
    expect(v.level).toBe(0);
    expect(v.incidents[0]).toMatchObject({ status: "investigating", recovering_at: s(60) });

    st = run(st, [ok("us", 70), ok("us", 200), tick(359.999)]).state;
    expect(snap(st).regions.us.state).toBe("recovering");

    // Five minutes without a failure: full weight, incident resolved.
    const last = run(st, [ok("us", 360)]);
    v = snap(last.state);
    expect(v.regions.us).toMatchObject({ state: "healthy", weight: 1 });
    expect(v.regions.us.share).toBeCloseTo(1 / 3);
    expect(v.incidents[0]).toMatchObject({ id: incidentId, status: "resolved", resolved_at: s(360) });
    expect(last.emitted).toEqual([expect.objectContaining({ region: "us", from: "recovering", to: "healthy", weight: 1, incident_id: incidentId })]);

    expect(v.events.map((e) => [e.to, e.at])).toEqual([
      ["suspect", s(0)], ["anti_flap", s(20)], ["removed", s(50)], ["recovering", s(60)], ["healthy", s(360)],
    ]);
  });

  it("removes at the end of the anti-flap window on a tick, without a probe landing there", () => {
    const { state, emitted } = run(initialState(T0), [fail("eu", 0), fail("eu", 10), fail("eu", 20), tick(50)]);
    expect(snap(state).regions.eu.state).toBe("removed");
    expect(emitted.at(-1)).toMatchObject({ region: "eu", from: "anti_flap", to: "removed", weight: 0, at: s(50) });
  });

  it("a success during the anti-flap wait cancels the removal and resets the count", () => {
    let st = run(initialState(T0), [fail("eu", 0), fail("eu", 10), fail("eu", 20), ok("eu", 45)]).state;
    expect(snap(st).regions.eu).toMatchObject({ state: "healthy", weight: 1, consecutiveFailures: 0 });
    expect(st.events.at(-1)).toMatchObject({ from: "anti_flap", to: "healthy" });
    // The old window is gone: a new failure starts counting from 1 and a late tick removes nothing.
    st = run(st, [fail("eu", 55), tick(200)]).state;
    expect(snap(st).regions.eu).toMatchObject({ state: "suspect", consecutiveFailures: 1 });
    expect(st.incidents).toHaveLength(0);
  });

  it("a failure during recovery removes the region again under the same incident and restarts the ramp", () => {
    let st = run(initialState(T0), [fail("apac", 0), fail("apac", 10), fail("apac", 20), fail("apac", 50), ok("apac", 60)]).state;
    expect(snap(st).regions.apac.state).toBe("recovering");
    st = run(st, [ok("apac", 70), fail("apac", 80, "status 503")]).state;
    let v = snap(st);
    expect(v.regions.apac).toMatchObject({ state: "removed", weight: 0, lastError: "status 503" });
    expect(v.incidents).toHaveLength(1);
    expect(v.incidents[0]).toMatchObject({ status: "investigating", last_error: "status 503", removed_at: s(80) });
    expect(st.events.at(-1)).toMatchObject({ from: "recovering", to: "removed" });

    // Re-added at 90 s: full weight 5 min after *that*, not after the first re-add.
    st = run(st, [ok("apac", 90), tick(360)]).state;
    expect(snap(st).regions.apac).toMatchObject({ state: "recovering", weight: 0.1 });
    expect(snap(st).incidents[0].recovering_at).toBe(s(90));
    st = run(st, [tick(390)]).state;
    v = snap(st);
    expect(v.regions.apac).toMatchObject({ state: "healthy", weight: 1 });
    expect(v.incidents[0]).toMatchObject({ status: "resolved", resolved_at: s(390) });
  });

  it("with threshold 1 and no anti-flap window, one failure removes at once", () => {
    const cfg = { ...CFG, failuresToRemove: 1, antiFlapMs: 0 };
    const { state, emitted } = run(initialState(T0), [fail("us", 0)], cfg);
    expect(emitted.map((e) => e.to)).toEqual(["anti_flap", "removed"]);
    expect(snap(state, cfg).regions.us.weight).toBe(0);
  });
});

describe("region health machine: alerts and request errors", () => {
  const removeAndReadd = (region: Region): MachineEvent[] => [fail(region, 0), fail(region, 10), fail(region, 20), tick(50), ok(region, 60)];
  const reqErr = (region: Region, sec: number, error = "origin eu unavailable: timeout"): MachineEvent => ({ type: "request_error", region, at: s(sec), error });

  it("asks for region_down at removal and region_recovered at full weight, and records each delivery", () => {
    const down = run(initialState(T0), [fail("eu", 0), fail("eu", 10), fail("eu", 20), tick(50)]);
    const id = down.state.incidents[0].id;
    expect(down.alerts).toEqual([{ type: "region_down", region: "eu", incident_id: id, title: "Region eu unhealthy: 3 consecutive probe failures", at: s(50) }]);
    expect(down.state.incidents[0].alerts).toEqual([
      { type: "region_down", at: s(50), outcome: "pending", attempts: 0, finished_at: null, http_status: null, error: null },
    ]);
    let st = run(down.state, [{ type: "alert_result", at: s(51), incident_id: id, alert_type: "region_down", outcome: "delivered", attempts: 2, http_status: 200, error: null }]).state;
    expect(st.incidents[0].alerts[0]).toMatchObject({ outcome: "delivered", attempts: 2, finished_at: s(51), http_status: 200 });

    // A failure during the ramp removes the region again under the same incident: no second page.
    const again = run(st, [ok("eu", 60), fail("eu", 70)]);
    expect(again.alerts).toEqual([]);
    const up = run(again.state, [ok("eu", 80), tick(380)]);
    expect(up.alerts).toEqual([{ type: "region_recovered", region: "eu", incident_id: id, title: "Region eu unhealthy: 3 consecutive probe failures", at: s(380) }]);
    st = run(up.state, [{ type: "alert_result", at: s(382), incident_id: id, alert_type: "region_recovered", outcome: "failed", attempts: 3, http_status: 502, error: "webhook answered 502" }]).state;
    expect(st.incidents[0]).toMatchObject({ status: "resolved", resolved_at: s(380) });
    expect(st.incidents[0].alerts.map((a) => [a.type, a.outcome])).toEqual([["region_down", "delivered"], ["region_recovered", "failed"]]);
  });

  it("a flap cancelled during the anti-flap wait pages no one", () => {
    const { alerts, state } = run(initialState(T0), [fail("us", 0), fail("us", 10), fail("us", 20), ok("us", 30), tick(100)]);
    expect(alerts).toEqual([]);
    expect(state.incidents).toEqual([]);
  });

  it("a request error while recovering restarts the 5-minute error-free timer, without removing the region", () => {
    let st = run(initialState(T0), removeAndReadd("eu")).state;
    expect(snap(st).regions.eu).toMatchObject({ state: "recovering", recoveringSince: s(60), fullWeightAt: s(360) });
    st = run(st, [reqErr("eu", 200)]).state;
    let v = snap(st);
    expect(v.regions.eu).toMatchObject({ state: "recovering", weight: 0.1, recoveringSince: s(200), fullWeightAt: s(500), lastRequestErrorAt: s(200) });
    expect(v.incidents[0]).toMatchObject({ status: "investigating", request_errors: 1, last_request_error_at: s(200), last_error: "origin eu unavailable: timeout" });
    // 5 minutes after the first re-add is no longer enough…
    st = run(st, [ok("eu", 360), tick(499.999)]).state;
    expect(snap(st).regions.eu.state).toBe("recovering");
    // …5 minutes after the last error is.
    st = run(st, [tick(500)]).state;
    v = snap(st);
    expect(v.regions.eu).toMatchObject({ state: "healthy", weight: 1, recoveringSince: null });
    expect(v.incidents[0]).toMatchObject({ status: "resolved", resolved_at: s(500), request_errors: 1 });
  });

  it("request errors outside a recovery ramp, or older than it, change nothing", () => {
    const st0 = initialState(T0);
    const healthy = step(st0, reqErr("us", 5), CFG);
    expect(healthy.emitted).toEqual([]);
    expect(healthy.state.regions).toEqual(st0.regions);
    const removed = run(st0, [fail("us", 0), fail("us", 10), fail("us", 20), tick(50)]).state;
    expect(step(removed, reqErr("us", 55), CFG).state.regions.us).toEqual(removed.regions.us);
    const recovering = run(st0, removeAndReadd("us")).state;
    expect(step(recovering, reqErr("us", 59), CFG).state.regions.us).toEqual(recovering.regions.us);
  });
});

describe("region health machine: levels", () => {
  const remove = (region: Region, from = 0): MachineEvent[] => [fail(region, from), fail(region, from + 10), fail(region, from + 20), fail(region, from + 50)];

  it("two regions removed → level 5 everywhere; the last one takes all traffic", () => {
    const st = run(initialState(T0), [...remove("us"), ...remove("eu")]).state;
    const v = snap(st);
    expect(v.level).toBe(5);
    expect(v.levels).toEqual({ us: 5, eu: 5, apac: 5 });
    expect(v.regions.apac).toMatchObject({ state: "healthy", weight: 1, share: 1 });
    expect(v.incidents.map((i) => [i.region, i.status])).toEqual([["us", "investigating"], ["eu", "investigating"]]);
  });

  it("all three removed → level 5 with no traffic share anywhere", () => {
    const v = snap(run(initialState(T0), [...remove("us"), ...remove("eu"), ...remove("apac")]).state);
    expect(v.level).toBe(5);
    for (const r of ["us", "eu", "apac"] as const) expect(v.regions[r]).toMatchObject({ state: "removed", weight: 0, share: 0 });
  });

  it("a recovering region is back in rotation, so one removed + one recovering is level 4", () => {
    const v = snap(run(initialState(T0), [...remove("us"), ...remove("eu"), ok("eu", 60)]).state);
    expect(v.levels).toEqual({ us: 4, eu: 0, apac: 0 });
  });
});

describe("region health machine: manual drain and restore", () => {
  it("drain takes a region out of rotation until restored; repeats are no-ops", () => {
    let st = run(initialState(T0), [{ type: "drain", region: "eu", at: s(0) }]).state;
    let v = snap(st);
    expect(v.regions.eu).toMatchObject({ state: "drained", health: "healthy", drained: true, weight: 0, share: 0 });
    expect(v.level).toBe(4);
    expect(v.levels.eu).toBe(4);
    expect(st.incidents).toHaveLength(0);

    // Probes that succeed do not bring a drained region back.
    const again = run(st, [{ type: "drain", region: "eu", at: s(1) }, ok("eu", 10), tick(400)]);
    expect(again.emitted).toEqual([]);
    st = again.state;
    expect(snap(st).regions.eu.weight).toBe(0);

    st = run(st, [{ type: "restore", region: "eu", at: s(20) }]).state;
    v = snap(st);
    expect(v.regions.eu).toMatchObject({ state: "healthy", drained: false, weight: 1 });
    expect(v.level).toBe(0);
    expect(st.events.map((e) => [e.from, e.to, e.reason])).toEqual([
      ["healthy", "drained", "drained by admin"], ["drained", "healthy", "restored by admin"],
    ]);
  });

  it("probes keep running while drained, so a restore lands on the region's true state", () => {
    let st = run(initialState(T0), [{ type: "drain", region: "us", at: s(0) }, fail("us", 10), fail("us", 20), fail("us", 30), fail("us", 60)]).state;
    expect(snap(st).regions.us).toMatchObject({ state: "drained", health: "removed", weight: 0 });
    expect(st.incidents).toHaveLength(1);
    st = run(st, [{ type: "restore", region: "us", at: s(70) }]).state;
    expect(snap(st).regions.us).toMatchObject({ state: "removed", weight: 0 });
  });

  it("one drained + one removed → level 5", () => {
    const st = run(initialState(T0), [{ type: "drain", region: "apac", at: s(0) }, fail("eu", 0), fail("eu", 10), fail("eu", 20), tick(50)]).state;
    expect(snap(st).level).toBe(5);
  });
});

describe("region health machine: bookkeeping", () => {
  it("never modifies the state it is given", () => {
    const st0 = initialState(T0);
    const copy = structuredClone(st0);
    step(st0, fail("us", 0), CFG);
    step(st0, { type: "drain", region: "eu", at: s(0) }, CFG);
    expect(st0).toEqual(copy);
  });

  it("keeps the last 200 events and the last 50 incidents", () => {
    // Threshold 1, no waits: each fail/ok pair is a full incident with 4 transitions.
    const cfg = { ...CFG, failuresToRemove: 1, antiFlapMs: 0, fullWeightAfterMs: 0 };
    const events: MachineEvent[] = [];
    for (let i = 0; i < 60; i++) events.push(fail("us", 2 * i), ok("us", 2 * i + 1));
    const st = run(initialState(T0), events, cfg).state;
    expect(st.events).toHaveLength(MAX_EVENTS);
    expect(st.events.at(-1)).toMatchObject({ to: "healthy", at: s(119) });
    expect(st.incidents).toHaveLength(MAX_INCIDENTS);
    expect(st.incidents.at(-1)).toMatchObject({ removed_at: s(118), resolved_at: s(119) });
    expect(new Set(st.incidents.map((i) => i.id)).size).toBe(MAX_INCIDENTS);
  });

  it("an open incident outlives newer resolved ones when trimming", () => {
    const cfg = { ...CFG, failuresToRemove: 1, antiFlapMs: 0, fullWeightAfterMs: 0 };
    const events: MachineEvent[] = [fail("apac", 0)];
    for (let i = 0; i < 60; i++) events.push(fail("us", 2 * i + 1), ok("us", 2 * i + 2));
    const st = run(initialState(T0), events, cfg).state;
    expect(st.incidents).toHaveLength(MAX_INCIDENTS);
    expect(st.incidents.filter((i) => i.status === "investigating").map((i) => i.region)).toEqual(["apac"]);
  });
});

describe("region health timings", () => {
  it("uses the design's defaults and reads overrides from env vars", () => {
    expect(timingsFromEnv({})).toEqual({ timings: DEFAULT_TIMINGS, invalid: [] });
    const { timings, invalid } = timingsFromEnv({
      HEALTH_PROBE_INTERVAL_MS: "200", HEALTH_PROBE_TIMEOUT_MS: "300", HEALTH_FAILURES_TO_REMOVE: "2",
      HEALTH_ANTI_FLAP_MS: "0", HEALTH_RECOVERY_WEIGHT: "0.25", HEALTH_FULL_WEIGHT_AFTER_MS: "1000",
    });
    expect(invalid).toEqual([]);
    expect(timings).toEqual({ probeIntervalMs: 200, probeTimeoutMs: 300, failuresToRemove: 2, antiFlapMs: 0, recoveryWeight: 0.25, fullWeightAfterMs: 1000 });
  });

  it("falls back to the default for malformed vars and names them", () => {
    const { timings, invalid } = timingsFromEnv({ HEALTH_PROBE_INTERVAL_MS: "0", HEALTH_FAILURES_TO_REMOVE: "2.5", HEALTH_RECOVERY_WEIGHT: "abc" });
    expect(timings).toEqual(DEFAULT_TIMINGS);
    expect(invalid.sort()).toEqual(["HEALTH_FAILURES_TO_REMOVE", "HEALTH_PROBE_INTERVAL_MS", "HEALTH_RECOVERY_WEIGHT"]);
  });

  it("validates runtime overrides strictly", () => {
    expect(parseTimingOverrides({ antiFlapMs: 50, recoveryWeight: 0.5 })).toEqual({ antiFlapMs: 50, recoveryWeight: 0.5 });
    const fieldOf = (v: unknown) => {
      try {
        parseTimingOverrides(v);
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(400);
        return (e as ApiError).field;
      }
      throw new Error("accepted");
    };
    expect(fieldOf({ antiFlapMS: 50 })).toBe("antiFlapMS");
    expect(fieldOf({ failuresToRemove: 0 })).toBe("failuresToRemove");
    expect(fieldOf({ recoveryWeight: "0.5" })).toBe("recoveryWeight");
    expect(fieldOf({ failuresToRemove: 2.5 })).toBe("failuresToRemove");
    expect(() => parseTimingOverrides(null)).toThrow(ApiError);
  });
});
