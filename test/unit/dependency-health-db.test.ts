import { describe, expect, it } from "vitest";
import { FakeClock } from "../../shared/clock.ts";
import { computeLevel } from "../../shared/degradation.ts";
import { DependencyHealth, DEPENDENCY_WINDOW_MS } from "../../origin/dependency-health.ts";
import { OriginSignals } from "../../origin/signals.ts";

// Issue 12 item 2, the level-3 trigger "database latency > 100 ms" on a FakeClock: the p99 of real query
// latencies plus the `SELECT 1` probes (origin/db.ts reports both), over 60 s, judged from 20 samples,
// at the production probe cadence: one probe a second while feed reads arrive (origin/feed-service.ts,
// DependencyHealth.probeDue) plus the edge's health probe every 10 s (edge/region-health-config.ts).

const EDGE_PROBE_EVERY_MS = 10_000;

/** What reaches Postgres in one second of a region at level 3: no queries on the request path (cache
 * only), only probes — the feed-driven one when a read arrives and it is due, and the edge's every 10 s. */
function probesThisSecond(db: DependencyHealth, clock: FakeClock, probeMs: number) {
  if (db.probeDue()) db.ok(probeMs);
  if (clock.now() % EDGE_PROBE_EVERY_MS === 0) db.ok(probeMs);
}

describe("database latency = p99 of real queries plus probes", () => {
  it("fast probes, slow real queries: level 3 with the database reason (the old median-of-probes rule saw 2 ms)", () => {
    const clock = new FakeClock(0);
    const s = new OriginSignals(undefined, { clock });
    for (let i = 0; i < 100; i++) s.db.ok(2); // probes
    for (let i = 0; i < 5; i++) s.db.ok(150); // 5 of 105 queries (4.8%) over 100 ms
    expect(s.db.view().p50Ms!).toBeLessThan(3);
    expect(s.level()).toMatchObject({ level: 3, reasons: [expect.stringMatching(/^database p99 1\d\d\.\d ms > 100 ms$/)] });
  });

  it("one slow query among 300 samples is not the p99: level 0", () => {
    const s = new OriginSignals(undefined, { clock: new FakeClock(0) });
    for (let i = 0; i < 299; i++) s.db.ok(5);
    s.db.ok(400);
    expect(s.level()).toMatchObject({ level: 0, reasons: [] });
  });

  it("a query that timed out counts as its timeout: a latency sample, never a step toward 'down'", () => {
    const s = new OriginSignals(undefined, { clock: new FakeClock(0) });
    for (let i = 0; i < 30; i++) s.db.ok(5);
    for (let i = 0; i < 5; i++) s.db.fail(new Error("db query timed out after 2000 ms"), 2000, true);
    expect(s.db.view()).toMatchObject({ available: true, consecutiveFailures: 0 });
    expect(s.level()).toMatchObject({ level: 3, reasons: [expect.stringMatching(/^database p99 \d+\.\d ms > 100 ms$/)] });
  });

  it("refused calls make it 'down' after 2 in a row; the first success after that starts an empty window", () => {
    const s = new OriginSignals(undefined, { clock: new FakeClock(0) });
    for (let i = 0; i < 30; i++) s.db.ok(5);
    s.db.fail(new Error("db query timed out after 500 ms"), 500, true); // the outage begins with a hang …
    s.db.fail(new Error("connection refused"), 3);
    expect(s.db.view().available).toBe(true);
    s.db.fail(new Error("connection refused"), 2);
    expect(s.level()).toMatchObject({ level: 3, reasons: ["database down", "postgres: connection refused"] });
    expect(s.db.view().p99Ms!).toBeGreaterThan(100);
    s.db.ok(4); // … and it is back: the outage's 500 ms sample does not hold level 3 for another window
    expect(s.db.view()).toMatchObject({ available: true, samples: 1 });
    expect(s.level()).toMatchObject({ level: 0, reasons: [] });
  });

  it("a database slower than the read row's 100 ms tries: reads time out, probes answer in 150 ms — level 3 by latency, steadily", () => {
    const s = new OriginSignals(undefined, { clock: new FakeClock(0) });
    const levels = new Set<string>();
    for (let second = 0; second < 30; second++) {
      for (let t = 0; t < 4; t++) s.db.fail(new Error("db query timed out after 100 ms"), 101, true); // a read's 4 tries
      s.db.ok(150); // the probe (500 ms timeout) gets through
      if (second >= 4) levels.add(s.level().reasons.join("; "));
    }
    expect([...levels]).toEqual([expect.stringMatching(/^database p99 1\d\d\.\d ms > 100 ms$/)]);
  });

  it("below 20 samples in the window the signal is unknown: no level from latency", () => {
    const s = new OriginSignals(undefined, { clock: new FakeClock(0) });
    for (let i = 0; i < 19; i++) s.db.ok(300);
    expect(s.level().level).toBe(0);
    s.db.ok(300);
    expect(s.level().level).toBe(3);
  });
});

describe("production probe cadence keeps a slowed database at level 3", () => {
  it("probes: one a second while reads arrive, whatever the read rate", async () => {
    const clock = new FakeClock(0);
    const db = new DependencyHealth("postgres", { clock });
    let due = 0;
    for (let ms = 0; ms < 10_000; ms += 50) {
      if (db.probeDue()) due++;
      await clock.advance(50);
    }
    expect(due).toBe(10);
  });

  it("at level 3 only probes reach Postgres: with a 60 s window they alone hold the level (with 15 s: 16–17 samples, under 20, and it fell)", async () => {
    const clock = new FakeClock(0);
    const prod = new DependencyHealth("postgres", { clock });
    const short = new DependencyHealth("postgres", { clock, windowMs: 15_000 });
    const level = (h: DependencyHealth) => {
      const v = h.view();
      return computeLevel({ dbAvailable: v.available, dbP99Ms: v.p99Ms, dbSamples: v.samples }).level;
    };
    // The database slows to 150 ms a query; real queries of the feed path push both to level 3.
    for (let i = 0; i < 30; i++) {
      prod.ok(150);
      short.ok(150);
    }
    expect([level(prod), level(short)]).toEqual([3, 3]);
    // Now cache only: for two minutes only probes (still 150 ms) reach the database, reads every second.
    const prodLevels = new Set<number>();
    const shortLevels = new Set<number>();
    const shortSamples: number[] = [];
    for (let t = 0; t < 120_000; t += 1000) {
      probesThisSecond(prod, clock, 150);
      probesThisSecond(short, clock, 150);
      await clock.advance(1000);
      if (t >= 30_000) {
        prodLevels.add(level(prod));
        shortLevels.add(level(short));
        shortSamples.push(short.view().samples);
      }
    }
    expect([...prodLevels]).toEqual([3]);
    expect(prod.view().samples).toBeGreaterThanOrEqual(20);
    expect(Math.max(...shortSamples)).toBeLessThan(20);
    expect([...shortLevels]).toEqual([0]);
  });

  it("the database heals: the slow probes age out one window later and the level is 0, with no traffic at all", async () => {
    const clock = new FakeClock(0);
    const s = new OriginSignals(undefined, { clock });
    for (let i = 0; i < 30; i++) s.db.ok(150);
    expect(s.level().level).toBe(3);
    await clock.advance(DEPENDENCY_WINDOW_MS - 1000);
    expect(s.level().level).toBe(3);
    await clock.advance(1000);
    expect(s.level()).toMatchObject({ level: 0, reasons: [] });
  });
});
