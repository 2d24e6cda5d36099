import { describe, expect, it } from "vitest";
import { DependencyHealth, DEPENDENCY_WINDOW_MS } from "../../origin/dependency-health.ts";
import { FakeClock } from "../../shared/clock.ts";
import { computeLevel, DegradationController } from "../../shared/degradation.ts";

// Degradation levels at low traffic (issue 12, item 4): the origin's latency signals (origin/
// dependency-health.ts over shared/latency-window.ts, 60 s windows) and the step-down hold of
// DegradationController, with a FakeClock. Once the cause is gone, no level may wait for traffic to end.

/** The origin's mapping (origin/signals.ts): ML p99, database p99 (queries and probes). */
function originLevel(ml: DependencyHealth, db: DependencyHealth) {
  const m = ml.view();
  const d = db.view();
  return computeLevel({ mlP99Ms: m.p99Ms, mlSamples: m.samples, dbAvailable: d.available, dbP99Ms: d.p99Ms, dbSamples: d.samples });
}

describe("origin latency signals age out without traffic", () => {
  it("ML p99 > 50 ms → level 1; traffic stops; one window (60 s) later the signal is unknown and the level is 0", async () => {
    const clock = new FakeClock(0);
    const ml = new DependencyHealth("ranking", { downAfterFailures: Number.MAX_SAFE_INTEGER, clock });
    const db = new DependencyHealth("postgres", { clock });
    for (let i = 0; i < 30; i++) ml.ok(120);
    expect(originLevel(ml, db)).toMatchObject({ level: 1, reasons: [expect.stringContaining("ML p99")] });
    await clock.advance(DEPENDENCY_WINDOW_MS);
    expect(ml.view()).toMatchObject({ samples: 0, p99Ms: null });
    expect(originLevel(ml, db)).toMatchObject({ level: 0, reasons: [] });
  });

  it("database latency > 100 ms → level 3; probes stop; one window (60 s) later level 0", async () => {
    const clock = new FakeClock(0);
    const ml = new DependencyHealth("ranking", { downAfterFailures: Number.MAX_SAFE_INTEGER, clock });
    const db = new DependencyHealth("postgres", { clock });
    for (let i = 0; i < 30; i++) {
      db.ok(250);
      await clock.advance(100);
    }
    expect(originLevel(ml, db).level).toBe(3);
    await clock.advance(DEPENDENCY_WINDOW_MS);
    expect(originLevel(ml, db).level).toBe(0);
  });
});

describe("DegradationController: the step-down hold runs on the clock", () => {
  it("steps down when the hold has elapsed, though no new signals arrived (current())", async () => {
    const clock = new FakeClock(0);
    const c = new DegradationController({ clock }); // production hold: 30 s
    expect(c.update({ breakerState: "OPEN" }).level).toBe(1);
    expect(c.update({ breakerState: "CLOSED" }).level).toBe(1); // signals below: the hold starts
    await clock.advance(29_999);
    expect(c.current().level).toBe(1);
    await clock.advance(1);
    expect(c.current()).toMatchObject({ level: 0, automaticLevel: 0, reasons: [] }); // no update() in between
  });

  it("one sparse update after a long silence steps down at once: the hold counts time, not updates", async () => {
    const clock = new FakeClock(0);
    const c = new DegradationController({ clock });
    c.update({ dbAvailable: false });
    c.update({});
    await clock.advance(10 * 60_000);
    expect(c.update({}).level).toBe(0);
  });

  it("a recovery of several steps completes on the clock alone (3 → 1 → 0)", async () => {
    const clock = new FakeClock(0);
    const c = new DegradationController({ clock, stepDownAfterMs: 30_000 });
    c.update({ dbAvailable: false });
    c.update({ breakerState: "HALF_OPEN" }); // level 1 now: hold for 3 → 1 starts
    await clock.advance(30_000);
    expect(c.current().level).toBe(1);
    expect(c.current().level).toBe(1); // held at 1 while the breaker is still half-open
    c.update({ breakerState: "CLOSED" });
    await clock.advance(30_000);
    expect(c.current().level).toBe(0);
  });

  it("before any signals, current() is level 0", () => {
    expect(new DegradationController({ clock: new FakeClock() }).current()).toMatchObject({ level: 0, forced: false });
  });
});
