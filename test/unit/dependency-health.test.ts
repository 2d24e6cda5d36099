import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitOpenError } from "../../shared/circuit-breaker.ts";
import { RANKING_BREAKER_DEFAULTS } from "../../shared/circuit-breaker-config.ts";
import { FakeClock } from "../../shared/clock.ts";
import { ML_INFERENCE_RETRY } from "../../shared/retry.ts";
import { DependencyHealth, DEPENDENCY_WINDOW_MS } from "../../origin/dependency-health.ts";
import { RankingError, rankStep } from "../../origin/ranking-client.ts";
import { OriginSignals } from "../../origin/signals.ts";

// Issue 12 item 2, the level-1 trigger "ML p99 > 50 ms" with production values on a FakeClock: failures
// count at their elapsed time (a timeout as at least its timeout), one ML sample per ranking step
// (tries + backoff), the 60 s / 20-sample rule, and the breaker that could not have opened yet.

/** A ranking call like origin/ranking-client.ts rank(): answers after `serviceMs`, or fails with its own
 * per-try timeout (AbortSignal.timeout in the real client) when that comes first. */
function rankingCall(clock: FakeClock, serviceMs: number, timeoutMs = ML_INFERENCE_RETRY.perTryTimeoutMs) {
  return () =>
    new Promise<string>((resolve, reject) => {
      if (serviceMs < timeoutMs) void clock.sleep(serviceMs).then(() => resolve("ranked"));
      else void clock.sleep(timeoutMs).then(() => reject(new RankingError("ranking call failed: timeout")));
    });
}

/** Fake time given to each step: more than the longest, 2 × 40 ms tries + a 24 ms backoff. */
const STEP_MS = 120;

/** Runs one ranking step to completion on the fake clock; resolves with its outcome. */
async function step(signals: OriginSignals, clock: FakeClock, serviceMs: number | number[]): Promise<"ok" | "failed"> {
  const times = Array.isArray(serviceMs) ? [...serviceMs] : [serviceMs];
  const next = () => rankingCall(clock, times.length > 1 ? times.shift()! : times[0])();
  const p = rankStep(signals.ml, signals.breaker, ML_INFERENCE_RETRY, next, clock).then(() => "ok" as const, () => "failed" as const);
  await clock.advance(STEP_MS);
  return p;
}

function newSignals(clock: FakeClock) {
  return new OriginSignals(new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, name: "ranking", clock }), { clock });
}

describe("DependencyHealth: a failure is a latency sample at its elapsed time", () => {
  it("fail(err, ms) records the wait, counts an error and a consecutive failure", () => {
    const h = new DependencyHealth("postgres", { clock: new FakeClock(0) });
    h.fail(new Error("db query timed out after 2000 ms"), 2000);
    const v = h.view();
    expect(v.samples).toBe(1);
    expect(v.p99Ms).toBeGreaterThanOrEqual(2000 * (1 - 1 / 32));
    expect(v).toMatchObject({ errorRate: 1, consecutiveFailures: 1, lastError: "db query timed out after 2000 ms", windowMs: DEPENDENCY_WINDOW_MS });
  });

  it("observe() times a call that times out: the sample is its timeout, not 0", async () => {
    const clock = new FakeClock(0);
    const h = new DependencyHealth("ranking", { clock });
    const p = h.observe(rankingCall(clock, 300)).catch(() => "failed");
    await clock.advance(100);
    expect(await p).toBe("failed");
    expect(h.view()).toMatchObject({ samples: 1, errorRate: 1 });
    expect(h.view().p99Ms).toBeGreaterThanOrEqual(40 * (1 - 1 / 32));
  });

  it("observe(f, notACall): a refusal that never reached the dependency is no sample", async () => {
    const h = new DependencyHealth("ranking", { clock: new FakeClock(0) });
    const refused = h.observe(() => Promise.reject(new CircuitOpenError("ranking", "OPEN", 1000)), (e) => e instanceof CircuitOpenError);
    await expect(refused).rejects.toBeInstanceOf(CircuitOpenError);
    expect(h.view().samples).toBe(0);
  });
});

describe("ML latency: one sample per ranking step (production policy: 40 ms per try, 1 retry after 20 ms ±20%)", () => {
  it("a per-try sample can never pass 50 ms: a timed-out try is exactly its 40 ms timeout", async () => {
    const clock = new FakeClock(0);
    const perTry = new DependencyHealth("ranking", { clock });
    for (let i = 0; i < 30; i++) {
      const p = perTry.observe(rankingCall(clock, 300)).catch(() => {});
      await clock.advance(50);
      await p;
    }
    expect(perTry.view().p99Ms!).toBeLessThanOrEqual(50);
  });

  it("a step whose tries time out costs both tries and the backoff (≥ 40 + 16 + 40 ms)", async () => {
    const clock = new FakeClock(0);
    const s = newSignals(clock);
    expect(await step(s, clock, 300)).toBe("failed");
    const v = s.ml.view();
    expect(v.samples).toBe(1);
    expect(v.p99Ms!).toBeGreaterThanOrEqual(96 * (1 - 1 / 32));
    expect(s.breaker.metrics().bufferedCalls).toBe(2); // the breaker still sees each try
  });

  it("a first try that times out and a retry that answers: > 50 ms, so it counts toward level 1", async () => {
    const clock = new FakeClock(0);
    const s = newSignals(clock);
    expect(await step(s, clock, [300, 10])).toBe("ok");
    expect(s.ml.view().p99Ms!).toBeGreaterThan(50);
  });

  it("ranking slowed to 300 ms: level 1 with the ML reason at the 20th step, breaker still CLOSED (40 of its 100 minimum calls)", async () => {
    const clock = new FakeClock(0);
    const s = newSignals(clock);
    const levels: number[] = [];
    for (let i = 0; i < 20; i++) {
      await step(s, clock, 300);
      levels.push(s.level().level);
    }
    expect(levels.slice(0, 19).every((l) => l === 0)).toBe(true); // below the 20-sample minimum: unknown
    expect(levels[19]).toBe(1);
    expect(s.level().reasons).toEqual([expect.stringMatching(/^ML p99 \d+\.\d ms > 50 ms$/)]);
    expect(s.breaker.state).toBe("CLOSED");
    expect(s.breaker.metrics().bufferedCalls).toBe(40);
  });

  it("healthy ranking (10 ms) stays at level 0; p99 needs more than 1% slow steps, not one outlier in 200", async () => {
    const clock = new FakeClock(0);
    const s = newSignals(clock);
    for (let i = 0; i < 199; i++) await step(s, clock, 10);
    await step(s, clock, [300, 10]);
    expect(s.level()).toMatchObject({ level: 0, reasons: [] });
    await step(s, clock, [300, 10]);
    await step(s, clock, [300, 10]);
    expect(s.level().level).toBe(1); // 3 of 202 = 1.5% of the steps over 50 ms
  });

  it("a step the open breaker refuses is no sample (the breaker's own reason covers it)", async () => {
    const clock = new FakeClock(0);
    const s = newSignals(clock);
    s.breaker.forceOpen();
    expect(await step(s, clock, 10)).toBe("failed");
    expect(s.ml.view().samples).toBe(0);
    expect(s.level().reasons).toEqual(["ranking breaker forced_open"]);
  });
});

describe("sample rule: 60 s window, judged from 20 samples", () => {
  it("slow samples hold the level for the window and age out after it, without new traffic", async () => {
    const clock = new FakeClock(0);
    const s = newSignals(clock);
    for (let i = 0; i < 20; i++) await step(s, clock, 300); // 20 × 120 ms of fake time
    expect(s.level().level).toBe(1);
    await clock.advance(DEPENDENCY_WINDOW_MS - 20 * STEP_MS - 1000); // the first samples are 59 s old
    expect(s.level().level).toBe(1);
    await clock.advance(20 * STEP_MS + 1000); // the last ones are 60 s old
    expect(s.ml.view()).toMatchObject({ samples: 0, p99Ms: null });
    expect(s.level()).toMatchObject({ level: 0, reasons: [] });
  });
});
