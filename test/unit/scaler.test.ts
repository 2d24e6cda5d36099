import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS } from "../../edge/region-health-config.ts";
import { initialState, step, weightOf, type MachineEvent, type MachineState } from "../../edge/region-health-machine.ts";
import { RecordingScaler, scalerFor, SCALER_RETRY, WebhookScaler, type CapacityStep } from "../../edge/scaler.ts";
import { planCapacitySteps, type CapacityRecord } from "../../edge/scaler-steps.ts";
import { REGION_VALUES, type Region } from "../../shared/regions.ts";

// Failover steps 4 and 8 (DESIGN §3 level 4): the capacity plan driven by the pure region-health machine
// with the design's timings (3 failures, 30 s anti-flap, 10% re-add, full weight after 5 min) and explicit
// timestamps, and the webhook scaler against a real HTTP server.
const CFG = DEFAULT_TIMINGS;
const T0 = 1_700_000_000_000;
const s = (sec: number) => T0 + sec * 1000;
const fail = (region: Region, sec: number): MachineEvent => ({ type: "probe_fail", region, at: s(sec), error: "timeout" });
const ok = (region: Region, sec: number): MachineEvent => ({ type: "probe_ok", region, at: s(sec), latencyMs: 10 });
const tick = (sec: number): MachineEvent => ({ type: "tick", at: s(sec) });

/** Runs events through the machine and, after each, the capacity plan (as RegionHealth does), applying its steps. */
function drive(state: MachineState, factors: CapacityRecord["factors"], events: MachineEvent[]) {
  const steps: CapacityStep[] = [];
  for (const e of events) {
    state = step(state, e, CFG).state;
    const weights = Object.fromEntries(REGION_VALUES.map((r) => [r, weightOf(state.regions[r], CFG)])) as Record<Region, number>;
    for (const st of planCapacitySteps(factors, weights, e.at)) {
      factors[st.region] = st.factor;
      steps.push(st);
    }
  }
  return { state, steps };
}

describe("capacity plan from the region-health machine", () => {
  it("eu removed → us and apac ×1.5 (step 4); back at 10% nothing; at full weight ×1 again (step 8)", () => {
    const factors: CapacityRecord["factors"] = {};
    let { state, steps } = drive(initialState(T0), factors, [fail("eu", 0), fail("eu", 10), fail("eu", 20), tick(49)]);
    expect(steps).toEqual([]); // anti-flap still running: eu is in rotation
    ({ state, steps } = drive(state, factors, [tick(50)]));
    expect(state.regions.eu.health).toBe("removed");
    expect(steps).toEqual([
      { at: s(50), region: "us", factor: 1.5, because: ["eu"], step: "scale_up" },
      { at: s(50), region: "apac", factor: 1.5, because: ["eu"], step: "scale_up" },
    ]);
    ({ state, steps } = drive(state, factors, [fail("eu", 60), ok("eu", 70), tick(71)]));
    expect(state.regions.eu.health).toBe("recovering");
    expect(steps).toEqual([]); // eu carries 10%: the others keep their step
    ({ state, steps } = drive(state, factors, [tick(70 + 300)]));
    expect(state.regions.eu.health).toBe("healthy");
    expect(steps.map((x) => [x.region, x.factor, x.step])).toEqual([["us", 1, "scale_back"], ["apac", 1, "scale_back"]]);
    expect(factors).toEqual({ us: 1, apac: 1 });
  });

  it("a second region out leaves the last one at ×1.5; a replayed state plans nothing", () => {
    const factors: CapacityRecord["factors"] = {};
    const { steps } = drive(initialState(T0), factors, [fail("eu", 0), fail("eu", 10), fail("eu", 20), fail("us", 20), fail("us", 30), fail("us", 40), tick(50), tick(70)]);
    expect(steps.map((x) => [x.region, x.factor, x.because])).toEqual([["us", 1.5, ["eu"]], ["apac", 1.5, ["eu"]]]);
    // us scaled up then removed itself: left as it is; apac keeps ×1.5 with both out.
    expect(planCapacitySteps(factors, { us: 0, eu: 0, apac: 1 }, s(80))).toEqual([]);
    expect(planCapacitySteps({ us: 1.5, apac: 1.5 }, { us: 1, eu: 0, apac: 1 }, s(90))).toEqual([]);
  });

  it("a manual drain counts as out of rotation", () => {
    const factors: CapacityRecord["factors"] = {};
    const { steps } = drive(initialState(T0), factors, [{ type: "drain", region: "apac", at: s(5) }]);
    expect(steps.map((x) => [x.region, x.factor])).toEqual([["us", 1.5], ["eu", 1.5]]);
  });
});

describe("scalers", () => {
  const got: { body: unknown; n: number }[] = [];
  let answer: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ body: JSON.parse(body), n: got.length + 1 });
      const status = answer.shift() ?? 200;
      if (status === 0) return; // never answers: the try times out
      res.writeHead(status).end();
    });
  });
  let url = "";
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scale`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const stepUp: CapacityStep = { at: T0, region: "us", factor: 1.5, because: ["eu"], step: "scale_up" };
  const fast = { ...SCALER_RETRY, delaysMs: [5, 5], perTryTimeoutMs: 300 };

  it("webhook: POSTs the step as JSON; a 503 is retried, a 2xx delivers", async () => {
    got.length = 0;
    answer = [503, 200];
    expect(await new WebhookScaler(url, { policy: fast }).apply(stepUp)).toEqual({ outcome: "delivered", attempts: 2, http_status: 200, error: null });
    expect(got.map((g) => g.body)).toEqual([stepUp, stepUp]);
  });

  it("webhook: a 4xx is a refusal (not retried); a receiver that never answers fails after its tries, within the timeouts", async () => {
    answer = [400];
    expect(await new WebhookScaler(url, { policy: fast }).apply(stepUp)).toMatchObject({ outcome: "failed", attempts: 1, http_status: 400 });
    answer = [0, 0, 0];
    const r = await new WebhookScaler(url, { policy: fast }).apply(stepUp);
    expect(r).toMatchObject({ outcome: "failed", attempts: 3, http_status: null });
  });

  it("production values: 3 tries, 5 s per try; recording scaler by default, webhook for an http(s) URL", async () => {
    expect(SCALER_RETRY).toMatchObject({ retries: 2, perTryTimeoutMs: 5000 });
    expect(await new RecordingScaler().apply()).toMatchObject({ outcome: "recorded" });
    expect(scalerFor({}).scaler.kind).toBe("recording");
    expect(scalerFor({ SCALER_WEBHOOK_URL: url }).scaler.kind).toBe("webhook");
    expect(scalerFor({ SCALER_WEBHOOK_URL: "ftp://x" })).toMatchObject({ scaler: { kind: "recording" }, error: expect.stringContaining("SCALER_WEBHOOK_URL") });
  });
});
