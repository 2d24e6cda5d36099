/// <reference types="@cloudflare/vitest-plugin/types" />
import type { DurableObjectNamespace } from "@cloudflare/workers-types";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { EdgeBindings } from "../../edge/env.ts";
import type { Incident } from "../../edge/incident.ts";
import { resetOriginErrorReports } from "../../edge/origin-error-report.ts";
import { healthBodyError, type RegionHealth } from "../../edge/region-health.ts";
import { initialState, step, type MachineState } from "../../edge/region-health-machine.ts";
import { invalidateRegionViews, routeRead } from "../../edge/routing.ts";
import { feedRegionHealth, regionHealthStub } from "./support/region-health-do.ts";

// The RegionHealth Durable Object inside workerd, against the test config's origins
// (http://origin-*.invalid: unreachable, so every probe fails). Timings are shrunk per test, and the probe
// interval is set long so that only probeNow()/runDurableObjectAlarm() drive probes (no stray rounds).
type Api = Pick<RegionHealth, "snapshot" | "probeNow" | "drain" | "restore" | "configure" | "reset" | "ensureStarted" | "reportRequestError">;
const bindings = env as unknown as EdgeBindings;
const ns = bindings.REGION_HEALTH as DurableObjectNamespace;
const raw = regionHealthStub;
const rh = () => raw() as unknown as Api;
// Expected rejections are checked inside the object: a rejecting RPC through a stub leaks an unhandled
// rejection under the vitest pool (cloudflare/workers-sdk#14736) even when the test handles it.
const inside = (call: (i: RegionHealth) => Promise<unknown>) =>
  runInDurableObject(raw(), (i: RegionHealth) => call(i).then(() => "resolved", (e: Error) => e.message));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const QUIET = { probeIntervalMs: 60_000, probeTimeoutMs: 1_000, failuresToRemove: 3, antiFlapMs: 100 };
const REGIONS = ["us", "eu", "apac"] as const;
const feedEvents = feedRegionHealth;
const settled = (incidents: Incident[]) => incidents.every((i) => i.alerts.every((a) => a.outcome !== "pending"));
async function eventually<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(50)) {
    const v = await get();
    if (ok(v) || Date.now() > end) return v;
  }
}

beforeEach(async () => {
  await rh().reset();
  await rh().configure(QUIET);
  invalidateRegionViews();
});

describe("RegionHealth Durable Object", () => {
  it("starts its alarm lazily; the alarm probes every origin and re-arms", async () => {
    const started = await rh().ensureStarted();
    expect(started.nextProbeAt).toBeGreaterThan(Date.now() + 50_000);
    expect(await runDurableObjectAlarm(raw())).toBe(true);
    const snap = await rh().snapshot();
    for (const r of ["us", "eu", "apac"] as const) {
      expect(snap.regions[r]).toMatchObject({ state: "suspect", weight: 1, consecutiveFailures: 1, lastOkAt: null });
      expect(snap.regions[r].lastProbeAt).toBeTypeOf("number");
      expect(snap.regions[r].lastError).toBeTruthy();
    }
    const alarmAt = await runInDurableObject(raw(), (_i: unknown, state) => state.storage.getAlarm());
    expect(alarmAt).toBeGreaterThan(Date.now());
  });

  it("removes unreachable regions after 3 failures + the anti-flap wait, reaching level 5", async () => {
    await rh().probeNow();
    await rh().probeNow();
    let snap = await rh().probeNow();
    // Threshold reached: still in rotation while the anti-flap window runs.
    for (const r of ["us", "eu", "apac"] as const) expect(snap.regions[r]).toMatchObject({ state: "anti_flap", weight: 1 });
    expect(snap.level).toBe(0);
    expect(snap.incidents).toEqual([]);

    await sleep(QUIET.antiFlapMs + 50);
    snap = await rh().probeNow();
    for (const r of ["us", "eu", "apac"] as const) expect(snap.regions[r]).toMatchObject({ state: "removed", weight: 0, share: 0 });
    expect(snap.level).toBe(5);
    expect(snap.incidents.map((i) => [i.region, i.status]).sort()).toEqual([["apac", "investigating"], ["eu", "investigating"], ["us", "investigating"]]);
    for (const i of snap.incidents) {
      expect(i.removed_at - i.threshold_at).toBeGreaterThanOrEqual(QUIET.antiFlapMs);
      expect(i.detected_at).toBeLessThanOrEqual(i.threshold_at);
    }
    expect(snap.events.filter((e) => e.to === "removed")).toHaveLength(3);

    // The edge's read routing sees it: nothing usable, emergency level.
    invalidateRegionViews();
    expect(await routeRead(bindings, "eu")).toMatchObject({ candidates: [], level: 5 });
  });

  it("keeps its event log and incidents across a restart", async () => {
    await rh().configure({ failuresToRemove: 1, antiFlapMs: 0 });
    await rh().probeNow();
    const before = await eventually(() => rh().snapshot(), (s) => settled(s.incidents));
    expect(before.incidents).toHaveLength(3);
    await evictDurableObject(raw());
    const after = await rh().snapshot();
    expect(after.incidents).toEqual(before.incidents);
    expect(after.events).toEqual(before.events);
    expect(after.timings).toMatchObject({ failuresToRemove: 1, antiFlapMs: 0, probeIntervalMs: 60_000 });
  });

  it("drain and restore take one region out and back: level 4 for its users", async () => {
    let snap = await rh().drain("eu");
    expect(snap.regions.eu).toMatchObject({ state: "drained", weight: 0 });
    expect(snap.regions.us.share).toBeCloseTo(0.5);
    expect(snap.levels).toEqual({ us: 0, eu: 4, apac: 0 });
    invalidateRegionViews();
    const route = await routeRead(bindings, "eu");
    expect(route.level).toBe(4);
    expect(route.candidates.sort()).toEqual(["apac", "us"]);

    snap = await rh().restore("eu");
    expect(snap.regions.eu).toMatchObject({ state: "healthy", weight: 1 });
    expect(snap.level).toBe(0);
    expect(snap.events.map((e) => e.reason)).toEqual(["drained by admin", "restored by admin"]);
    expect(await inside((i) => i.drain("mars" as "eu"))).toMatch(/region must be one of/);
  });

  it("rejects bad timings and serves GET /snapshot for debugging", async () => {
    expect(await inside((i) => i.configure({ failuresToRemove: 0 }))).toMatch(/failuresToRemove/);
    const res = await ns.get(ns.idFromName("global")).fetch("http://do/snapshot");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { regions: Record<string, { state: string }>; level: number };
    expect(Object.keys(body.regions).sort()).toEqual(["apac", "eu", "us"]);
    expect(body.level).toBe(0);
  });

  it("keeps probing on its own: each alarm re-arms the next", async () => {
    await rh().configure({ probeIntervalMs: 100, failuresToRemove: 1_000 });
    await sleep(700);
    const snap = await rh().configure(QUIET).then(() => rh().snapshot());
    expect(snap.regions.us.consecutiveFailures).toBeGreaterThanOrEqual(3);
  });

  it("judges health bodies: ok/degraded pass, anything else fails", () => {
    expect(healthBodyError({ region: "us", status: "ok", degradation_level: 0 })).toBeNull();
    expect(healthBodyError({ status: "degraded" })).toBeNull();
    expect(healthBodyError({ status: "down" })).toMatch(/down/);
    expect(healthBodyError({ ok: false })).toMatch(/ok: false/);
    expect(healthBodyError(null)).toMatch(/not a JSON object/);
  });
});

describe("RegionHealth: probe grid, incidents, alerts and request errors (issue 12 item 6)", () => {
  it("arms each alarm on a fixed grid: the planned slot + interval, however long the round took", async () => {
    const { nextProbeAt: planned } = await rh().ensureStarted();
    expect(planned).toBeTypeOf("number");
    expect(await runDurableObjectAlarm(raw())).toBe(true);
    const next = await runInDurableObject(raw(), (_i: unknown, state) => state.storage.getAlarm());
    expect(next).toBe(planned! + QUIET.probeIntervalMs);
    expect((await rh().snapshot()).nextProbeAt).toBe(next);
  });

  it("opens an incident with a title, status investigating, and records the alert (webhook off here)", async () => {
    await rh().configure({ failuresToRemove: 1, antiFlapMs: 0 });
    await rh().probeNow();
    const snap = await eventually(() => rh().snapshot(), (s) => s.incidents.length === 3 && settled(s.incidents));
    expect(snap.alerting).toEqual({ webhook: "off" });
    for (const i of snap.incidents) {
      expect(i).toMatchObject({ title: `Region ${i.region} unhealthy: 1 consecutive probe failure`, status: "investigating", resolved_at: null });
      expect(i.alerts).toEqual([expect.objectContaining({ type: "region_down", at: i.removed_at, outcome: "disabled", attempts: 0 })]);
    }
    // The same records on /v1/status, which the ops page renders.
    const status = (await (await SELF.fetch("http://edge/v1/status")).json()) as { region_health: { incidents: Incident[] } };
    expect(status.region_health.incidents.map((i) => [i.region, i.status, i.alerts[0].outcome]).sort()).toEqual([
      ["apac", "investigating", "disabled"], ["eu", "investigating", "disabled"], ["us", "investigating", "disabled"],
    ]);
  });

  it("re-sends alerts still pending when the object stopped", async () => {
    // A state persisted with a region_down alert in flight, as if the object died mid-delivery.
    const cfg = { failuresToRemove: 1, antiFlapMs: 0, recoveryWeight: 0.1, fullWeightAfterMs: 1000 };
    const stored: MachineState = step(initialState(Date.now()), { type: "probe_fail", region: "eu", at: Date.now(), error: "timeout" }, cfg).state;
    expect(stored.incidents[0].alerts[0].outcome).toBe("pending");
    await runInDurableObject(raw(), (_i: unknown, state) => state.storage.put("machine", stored));
    await evictDurableObject(raw());
    const snap = await eventually(() => rh().snapshot(), (s) => settled(s.incidents));
    expect(snap.incidents[0].alerts).toEqual([expect.objectContaining({ type: "region_down", outcome: "disabled" })]);
  });

  it("request errors on feed calls to a recovering region restart its error-free timer", async () => {
    await rh().configure({ failuresToRemove: 1, antiFlapMs: 0, fullWeightAfterMs: 60_000 });
    await rh().probeNow();
    // Back in rotation at 10% (the test origins never answer a probe, so the successes are fed in).
    const readdedAt = Date.now();
    let snap = await feedEvents(REGIONS.map((region) => ({ type: "probe_ok" as const, region, at: readdedAt })));
    for (const r of REGIONS) expect(snap.regions[r]).toMatchObject({ state: "recovering", weight: 0.1, recoveringSince: readdedAt });
    expect(await rh().reportRequestError("us", readdedAt - 1)).toEqual({ counted: false }); // older than the ramp

    // A real feed read through the edge: every origin call fails, and each failure is reported.
    resetOriginErrorReports();
    await sleep(1_100); // the edge's 1 s routing snapshot must see the regions in rotation
    const res = await SELF.fetch("http://edge/v1/feed?region=eu&count=5");
    expect(res.status).toBe(200);
    snap = await eventually(() => rh().snapshot(), (s) => REGIONS.every((r) => s.regions[r].recoveringSince! > readdedAt));
    for (const r of REGIONS) {
      expect(snap.regions[r]).toMatchObject({ state: "recovering", weight: 0.1 });
      expect(snap.regions[r].recoveringSince).toBeGreaterThan(readdedAt);
      expect(snap.regions[r].fullWeightAt).toBe(snap.regions[r].recoveringSince! + 60_000);
    }
    const eu = snap.incidents.find((i) => i.region === "eu")!;
    expect(eu.request_errors).toBeGreaterThanOrEqual(1);
    expect(eu.last_error).toMatch(/origin eu/);
  });

  it("ignores request errors for regions that are not recovering, and rejects a bad region", async () => {
    expect(await rh().reportRequestError("eu", Date.now())).toEqual({ counted: false });
    expect((await rh().snapshot()).events).toEqual([]);
    expect(await inside((i) => i.reportRequestError("mars" as "eu", Date.now()))).toMatch(/region must be one of/);
  });
});
