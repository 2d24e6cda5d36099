import { describe, expect, it } from "vitest";
import { DependencyHealth, DEPENDENCY_WINDOW_MS } from "../../origin/dependency-health.ts";
import { FakeClock } from "../../shared/clock.ts";
import { computeLevel } from "../../shared/degradation.ts";

// Degradation levels at low traffic (issue 12, item 4): the origin's latency signals (origin/
// dependency-health.ts over shared/latency-window.ts, 60 s windows), with a FakeClock. Once the cause is
// gone, no level may wait for traffic to end. (The step-down hold of DegradationController was removed:
// the windows are the hold, shared/degradation.ts.)

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
