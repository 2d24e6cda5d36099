import { describe, expect, it } from "vitest";
import { BINS, binOf, fractionAbove, fromSamples, quantile, representative } from "../../scripts/capacity/histogram.ts";
import { podCapacity, simulatePod, type PodModel } from "../../scripts/capacity/latency-model.ts";
import { demandAt, diurnal, weightAt, zipfTopShare, type DayScenario, type TrafficModel } from "../../scripts/capacity/traffic.ts";

const pod = (o: Partial<PodModel> = {}): PodModel => ({
  requestSideMs: [1], respondMs: 0, inferAMs: 0, inferBMsPerRow: 0, rowsPerCall: 5000, maxBatchRows: 16384, maxWaitMs: 0, maxQueueRows: 65536, cpuMsPerCall: 1, ...o,
});
const mean = (h: Float64Array) => h.reduce((s, x, i) => s + x * representative(i), 0) / h.reduce((s, x) => s + x, 0);

describe("latency histograms", () => {
  it("quantiles of 1..1000 ms are within the 4% bin width", () => {
    const h = fromSamples(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(quantile(h, 0.5)).toBeGreaterThan(500 * 0.96);
    expect(quantile(h, 0.5)).toBeLessThan(500 * 1.04);
    expect(quantile(h, 0.99)).toBeGreaterThan(990 * 0.96);
    expect(quantile(h, 0.99)).toBeLessThan(990 * 1.04);
    expect(fractionAbove(h, 900)).toBeCloseTo(0.1, 1);
    expect(binOf(1e9)).toBe(BINS - 1);
    expect(quantile(new Float64Array(BINS), 0.99)).toBe(0); // empty window reads 0, like the service's gauge
  });
});

describe("ranking pod model (event loop + micro-batcher)", () => {
  it("an idle pod answers in request + batch wait + inference + response", () => {
    const m = pod({ requestSideMs: [1], respondMs: 0.1, inferAMs: 0.5, maxWaitMs: 2 });
    const r = simulatePod(m, 1, { calls: 2000, warmup: 100 });
    expect(quantile(r.hist, 0.5)).toBeGreaterThan(3.6 * 0.96);
    expect(quantile(r.hist, 0.5)).toBeLessThan(3.6 * 1.04);
    expect(r.shed).toBe(0);
  });

  it("matches queueing theory for a FIFO event loop: M/D/1 for the request side, then the response waits its turn", () => {
    // Request side: M/D/1 with S = 1 ms, Wq = ρS / (2(1 − ρ)). The response side (0 ms here) joins the
    // same FIFO when the request side is done, behind what a departure leaves in the system: on average
    // L = ρ + λ·Wq calls, i.e. (ρ + ρ·Wq/S)·S of work. Mean latency = S + Wq + ρS + ρWq.
    const m = pod({ requestSideMs: [1] }); // μ = 1000 calls/s, nothing but the event loop
    for (const rho of [0.3, 0.6, 0.8]) {
      const r = simulatePod(m, rho * 1000, { calls: 60_000, warmup: 5000, seed: 3 });
      const wq = rho / (2 * (1 - rho));
      const expected = 1 + wq + rho + rho * wq; // ms
      expect(Math.abs(mean(r.hist) - expected) / expected).toBeLessThan(0.06);
      expect(r.loopBusy).toBeGreaterThan(rho - 0.03);
      expect(r.loopBusy).toBeLessThan(rho + 0.03);
    }
  });

  it("batches calls while inference runs, never more whole calls than maxBatchRows holds", () => {
    const m = pod({ requestSideMs: [0.2], inferAMs: 4, maxWaitMs: 2 });
    const r = simulatePod(m, 600, { calls: 5000 });
    expect(r.meanBatchCalls).toBeGreaterThan(1.5);
    expect(r.meanBatchCalls).toBeLessThanOrEqual(Math.floor(16384 / 5000));
    expect(podCapacity(m)).toBeCloseTo(Math.min(1000 / 0.2, (3 * 1000) / 4), 6);
  });

  it("refuses calls beyond the admission bound (RANK_MAX_QUEUE_ROWS) instead of queueing them", () => {
    const m = pod({ requestSideMs: [0.1], inferAMs: 20, maxBatchRows: 5000, maxQueueRows: 10_000 });
    const r = simulatePod(m, 200, { calls: 3000 });
    expect(r.shed).toBeGreaterThan(0.5);
  });
});

describe("traffic model", () => {
  const m: TrafficModel = { edgeHitRate: 0.6, feedShare: 0.5, anonymousShare: 0.2, continueChain: 0.5, topVideoShare: 0.1, popsPerRegion: 10, edgeVideoTtlS: 60, detectS: 60, recoveryWeight: 0.1, fullWeightAfterS: 300 };
  const regions = { a: { peakRps: 1000, troughRps: 200, peakHourUtc: 20 }, b: { peakRps: 1000, troughRps: 200, peakHourUtc: 20 } };

  it("diurnal peak and trough at the configured hours; ranking calls are signed-in first pages", () => {
    expect(diurnal(regions.a, 20 * 3600)).toBeCloseTo(1000);
    expect(diurnal(regions.a, 8 * 3600)).toBeCloseTo(200);
    const d = demandAt({ id: "x", title: "x", regions }, m, "a", 20 * 3600);
    expect(d.rankCallsPerS).toBeCloseTo(1000 * 0.5 * 0.8 * 0.5);
    expect(d.originRps).toBeCloseTo(400);
    expect(zipfTopShare(1)).toBe(1);
  });

  it("region loss: removed after detection, others ×1.5, back at 10% then full weight (edge timings)", () => {
    const s: DayScenario = { id: "l", title: "l", regions, loss: { region: "a", atS: 1000, downS: 600, failoverMultiplier: 1.5, failoverRanked: true } };
    expect(weightAt(s, m, "a", 1030)).toBe(1); // not yet detected
    expect(weightAt(s, m, "a", 1100)).toBe(0);
    expect(weightAt(s, m, "a", 1700)).toBe(0.1);
    expect(weightAt(s, m, "a", 1900)).toBe(1);
    const base = demandAt({ ...s, loss: undefined }, m, "b", 1100).rankCallsPerS;
    expect(demandAt(s, m, "a", 1100).rankCallsPerS).toBe(0);
    expect(demandAt(s, m, "b", 1100).rankCallsPerS).toBeCloseTo(1.5 * base);
    const later = demandAt({ ...s, loss: undefined }, m, "b", 1700).rankCallsPerS;
    expect(demandAt(s, m, "b", 1700).rankCallsPerS).toBeCloseTo((1 + 0.5 * 0.9) * later);
    // As designed, failed-over reads are the non-personal feed: no extra ranking load.
    expect(demandAt({ ...s, loss: { ...s.loss!, failoverRanked: false } }, m, "b", 1100).rankCallsPerS).toBeCloseTo(base);
  });
});
