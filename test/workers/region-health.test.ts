/// <reference types="@cloudflare/vitest-plugin/types" />
import type { DurableObjectNamespace } from "@cloudflare/workers-types";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { EdgeBindings } from "../../edge/env.ts";
import { healthBodyError, type RegionHealth } from "../../edge/region-health.ts";
import { invalidateRegionViews, routeRead } from "../../edge/routing.ts";

// The RegionHealth Durable Object inside workerd, against the test config's origins
// (http://origin-*.invalid: unreachable, so every probe fails). Timings are shrunk per test, and the probe
// interval is set long so that only probeNow()/runDurableObjectAlarm() drive probes (no stray rounds).
type Api = Pick<RegionHealth, "snapshot" | "probeNow" | "drain" | "restore" | "configure" | "reset" | "ensureStarted">;
const bindings = env as unknown as EdgeBindings;
const ns = bindings.REGION_HEALTH as DurableObjectNamespace;
// The runner helpers take workerd's own stub type; ours comes from the DOM-lib-compatible declarations.
const raw = () => ns.get(ns.idFromName("global")) as unknown as Parameters<typeof runDurableObjectAlarm>[0];
const rh = () => raw() as unknown as Api;
// Expected rejections are checked inside the object: a rejecting RPC through a stub leaks an unhandled
// rejection under the vitest pool (cloudflare/workers-sdk#14736) even when the test handles it.
const inside = (call: (i: RegionHealth) => Promise<unknown>) =>
  runInDurableObject(raw(), (i: RegionHealth) => call(i).then(() => "resolved", (e: Error) => e.message));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const QUIET = { probeIntervalMs: 60_000, probeTimeoutMs: 1_000, failuresToRemove: 3, antiFlapMs: 100 };

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
    expect(snap.incidents.map((i) => [i.region, i.status]).sort()).toEqual([["apac", "open"], ["eu", "open"], ["us", "open"]]);
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
    const before = await rh().probeNow();
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
