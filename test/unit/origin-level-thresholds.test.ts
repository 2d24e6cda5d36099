import { describe, expect, it } from "vitest";
import { FakeClock } from "../../shared/clock.ts";
import { DEGRADATION_THRESHOLDS } from "../../shared/degradation.ts";
import { OriginSignals } from "../../origin/signals.ts";

// The database-latency trigger uses the seed's 100 ms unless the origin's config overrides it
// (LEVEL_DB_P99_MS; only the shared e2e stack does, test/global-setup.ts).
describe("origin level thresholds", () => {
  const slowDb = (s: OriginSignals) => {
    for (let i = 0; i < 40; i++) s.db.ok(150);
  };

  it("defaults to the seed's 100 ms: a 150 ms p99 is level 3 with the database reason", () => {
    const s = new OriginSignals(undefined, { clock: new FakeClock(0) });
    expect(s.thresholds.dbP99Ms).toBe(100);
    slowDb(s);
    const r = s.level();
    expect(r.level).toBe(3);
    expect(r.reasons.join(" ")).toMatch(/database p99 [\d.]+ ms > 100 ms/);
  });

  it("an overridden threshold moves the trigger, nothing else", () => {
    const s = new OriginSignals(undefined, { clock: new FakeClock(0) });
    s.thresholds = Object.freeze({ ...DEGRADATION_THRESHOLDS, dbP99Ms: 1000 });
    slowDb(s);
    expect(s.level().level).toBe(0);
    for (let i = 0; i < 40; i++) s.db.ok(1500);
    expect(s.level().level).toBe(3);
  });
});
