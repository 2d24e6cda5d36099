import { describe, expect, it } from "vitest";
import { FakeClock } from "../../shared/clock.ts";
import { computeLevel } from "../../shared/degradation.ts";
import { HISTOGRAM_COUNTERS, LatencyWindow } from "../../shared/latency-window.ts";

// The sliding latency window behind "ML p99" and fyp_latency_p99_ms: bounded error, bounded memory, expiry.
const REL_ERROR = 1 / 32; // half a sub-bucket (16 per power of two) over its lower edge

/** Exact nearest-rank quantile of the samples, for comparison. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

/** Deterministic LCG so the sample set is the same every run. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe("latency window: percentiles", () => {
  it("is empty at first: p99 null, error rate 0", () => {
    const w = new LatencyWindow({ clock: new FakeClock() });
    expect(w.snapshot()).toEqual({ count: 0, errors: 0, errorRate: 0, p50: null, p90: null, p99: null, meanMs: null });
  });

  it("keeps p50/p90/p99 within the bucket error over a wide, skewed range", () => {
    const w = new LatencyWindow({ clock: new FakeClock() });
    const rnd = lcg(7);
    const samples: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const ms = 0.05 * Math.exp(rnd() * Math.log(40_000)); // 50 µs … 2 s, log-uniform
      samples.push(ms);
      w.record(ms);
    }
    samples.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const want = exact(samples, q);
      const got = w.percentile(q)!;
      // µs rounding on record adds at most 0.5 µs on top of the relative bucket error.
      expect(Math.abs(got - want)).toBeLessThanOrEqual(want * REL_ERROR + 0.0005);
    }
    const snap = w.snapshot();
    expect(snap.count).toBe(20_000);
    expect(snap.meanMs).toBeCloseTo(samples.reduce((a, b) => a + b, 0) / samples.length, 6);
  });

  it("resolves the design's thresholds: 40 ms vs 50 ms ML, 100 ms DB", () => {
    const w = new LatencyWindow({ clock: new FakeClock() });
    for (let i = 0; i < 98; i++) w.record(10);
    w.record(45);
    w.record(51);
    expect(w.percentile(0.99)).toBeGreaterThan(40);
    expect(w.percentile(0.99)).toBeLessThan(50);
    expect(w.percentile(1)).toBeGreaterThan(50);
    expect(w.percentile(0.5)).toBeCloseTo(10, 0);
  });

  it("is exact for sub-16 µs values and clamps absurd ones to the last counter", () => {
    const w = new LatencyWindow({ clock: new FakeClock() });
    w.record(0.007);
    expect(w.percentile(0.5)).toBe(0.007);
    w.record(1e12);
    w.record(Number.NaN);
    expect(w.count).toBe(3);
    expect(w.percentile(1)).toBeGreaterThan(2_000_000);
    expect(HISTOGRAM_COUNTERS).toBe(448);
  });

  it("counts errors into the error rate", () => {
    const w = new LatencyWindow({ clock: new FakeClock() });
    for (let i = 0; i < 30; i++) w.record(5, i % 3 !== 0);
    expect(w.snapshot()).toMatchObject({ count: 30, errors: 10 });
    expect(w.snapshot().errorRate).toBeCloseTo(1 / 3, 9);
  });
});

describe("latency window: expiry", () => {
  it("drops buckets older than the window, one bucket at a time", async () => {
    const clock = new FakeClock(0);
    const w = new LatencyWindow({ clock, windowMs: 60_000, bucketMs: 1000 });
    w.record(500, false); // t = 0 s
    await clock.advance(30_000);
    for (let i = 0; i < 9; i++) w.record(5); // t = 30 s
    expect(w.snapshot()).toMatchObject({ count: 10, errors: 1 });
    expect(w.percentile(1)).toBeGreaterThan(450);
    await clock.advance(29_999); // t = 59.999 s: bucket 0 still inside
    expect(w.count).toBe(10);
    await clock.advance(1); // t = 60 s: bucket 0 gone
    expect(w.snapshot()).toMatchObject({ count: 9, errors: 0, errorRate: 0 });
    expect(w.percentile(1)).toBeCloseTo(5, 0);
    await clock.advance(30_000);
    expect(w.snapshot()).toMatchObject({ count: 0, p99: null });
  });

  it("survives a long idle gap (more than a whole window) and keeps recording", async () => {
    const clock = new FakeClock(0);
    const w = new LatencyWindow({ clock, windowMs: 10_000, bucketMs: 1000 });
    for (let i = 0; i < 100; i++) w.record(i);
    await clock.advance(3_600_000);
    expect(w.count).toBe(0);
    w.record(42);
    expect(w.snapshot()).toMatchObject({ count: 1 });
    expect(w.percentile(0.99)).toBeCloseTo(42, 0);
  });

  it("reset() empties it", () => {
    const w = new LatencyWindow({ clock: new FakeClock() });
    w.record(3);
    w.reset();
    expect(w.count).toBe(0);
  });
});

describe("latency window: a level computed from it cannot stick once traffic stops", () => {
  /** The ML level the window alone calls for (DESIGN §3: p99 > 50 ms → 1; ≥ 20 samples to count). */
  const mlLevel = (w: LatencyWindow) => computeLevel({ mlP99Ms: w.percentile(0.99), mlSamples: w.count }).level;

  it("slow samples raise level 1; with no new samples it returns to 0 once they age out (no samples = unknown = not degraded)", async () => {
    const clock = new FakeClock(0);
    const w = new LatencyWindow({ clock, windowMs: 15_000, bucketMs: 1000 }); // the origin's windows
    for (let i = 0; i < 25; i++) w.record(90);
    expect(mlLevel(w)).toBe(1);
    await clock.advance(14_000);
    expect(mlLevel(w)).toBe(1); // still inside the window
    await clock.advance(1000);
    expect(w.snapshot()).toMatchObject({ count: 0, p99: null, p50: null });
    expect(mlLevel(w)).toBe(0);
    await clock.advance(3_600_000); // an hour of silence changes nothing
    expect(mlLevel(w)).toBe(0);
  });

  it("sparse traffic (one sample every 8 s) never gathers the minimum samples, so one slow call cannot set a level", async () => {
    const clock = new FakeClock(0);
    const w = new LatencyWindow({ clock, windowMs: 15_000, bucketMs: 1000 });
    for (let i = 0; i < 20; i++) {
      w.record(i === 0 ? 900 : 5);
      expect(w.count).toBeLessThanOrEqual(2);
      expect(mlLevel(w)).toBe(0);
      await clock.advance(8000);
    }
  });
});
