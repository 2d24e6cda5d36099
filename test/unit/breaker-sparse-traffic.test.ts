import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitOpenError, RANKING_BREAKER_DEFAULTS, type CircuitBreakerOptions, type StateTransition } from "../../shared/circuit-breaker.ts";
import { FakeClock } from "../../shared/clock.ts";
import { computeLevel } from "../../shared/degradation.ts";

// The ranking breaker (production values) at low traffic, with a FakeClock: issue 12's field case (one feed
// read every 8 s after ranking healed), trial permits whose calls never report, and the closed window that
// needs 13 minutes to fill at that rate. No state may stick because calls are rare.
const READ_EVERY_MS = 8000;

function setup(over: CircuitBreakerOptions = {}) {
  const clock = new FakeClock();
  const events: StateTransition[] = [];
  const cb = new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, name: "ranking", clock, onStateTransition: (e) => events.push(e), ...over });
  return { cb, clock, events };
}
const transitions = (events: StateTransition[]) => events.map((e) => `${e.from}->${e.to}`);
const level = (cb: CircuitBreaker) => computeLevel({ breakerState: cb.state }).level;

/** One ranking call through execute() taking `ms` on the fake clock: "ok", "failed" or "rejected". */
async function read(cb: CircuitBreaker, clock: FakeClock, outcome: "ok" | "fail" = "ok", ms = 5): Promise<"ok" | "failed" | "rejected"> {
  const call = cb.execute(async (signal) => {
    await clock.sleep(ms, signal);
    if (outcome === "fail") throw new Error("ranking service answered 500");
    return "ranked";
  });
  const settled = call.then(() => "ok" as const, (e: unknown) => (e instanceof CircuitOpenError ? "rejected" as const : "failed" as const));
  await clock.advance(ms);
  return settled;
}

/** Ranking fails until the breaker opens (100 calls), then 30 s pass: HALF_OPEN. */
async function openThenWait(s: ReturnType<typeof setup>): Promise<void> {
  for (let i = 0; i < 100; i++) await read(s.cb, s.clock, "fail");
  expect(s.cb.state).toBe("OPEN");
  await s.clock.advance(30_000);
  expect(s.cb.state).toBe("HALF_OPEN");
}

describe("ranking breaker at one read every 8 s (issue 12, item 4)", () => {
  it("field case: open → 30 s → half-open → 10 healthy trials at one per 8 s → CLOSED, level back to 0", async () => {
    const s = setup();
    await openThenWait(s);
    const halfOpenAt = s.clock.now();
    expect(level(s.cb)).toBe(1);
    for (let i = 0; i < 10; i++) {
      if (i > 0) await s.clock.advance(READ_EVERY_MS);
      expect(s.cb.state).toBe("HALF_OPEN"); // never back to OPEN while trials are pending
      expect(await read(s.cb, s.clock)).toBe("ok");
    }
    expect(s.cb.state).toBe("CLOSED");
    expect(level(s.cb)).toBe(0);
    expect(s.clock.now() - halfOpenAt).toBeGreaterThan(30_000); // longer than the seed's old half-open limit
    expect(transitions(s.events)).toEqual(["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"]);
  });

  it("4 of 4 trials healthy, then no traffic for 10 minutes: still HALF_OPEN, waiting for 6 more; never OPEN on its own", async () => {
    const s = setup();
    await openThenWait(s);
    for (let i = 0; i < 4; i++) {
      expect(await read(s.cb, s.clock)).toBe("ok");
      await s.clock.advance(READ_EVERY_MS);
    }
    for (let minute = 0; minute < 10; minute++) {
      await s.clock.advance(60_000);
      expect(s.cb.metrics()).toMatchObject({ state: "HALF_OPEN", bufferedCalls: 4, failedCalls: 0, trialsInFlight: 0 });
    }
    for (let i = 0; i < 6; i++) expect(await read(s.cb, s.clock)).toBe("ok");
    expect(s.cb.state).toBe("CLOSED");
    expect(transitions(s.events)).toEqual(["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"]);
  });

  it("the seed's 30 s half-open limit survives only as an opt-in; with it, the same sparse reads never close the breaker", async () => {
    const s = setup({ maxWaitDurationInHalfOpenState: 30_000 });
    await openThenWait(s);
    for (let t = 0; t < 5 * 60_000; t += READ_EVERY_MS) {
      await read(s.cb, s.clock);
      await s.clock.advance(READ_EVERY_MS);
    }
    expect(s.cb.state).not.toBe("CLOSED");
    expect(transitions(s.events)).toContain("HALF_OPEN->OPEN");
    expect(transitions(s.events)).not.toContain("HALF_OPEN->CLOSED");
  });

  it("trials whose calls never report give their permits back after the 2 s lease; half-open still closes", async () => {
    const s = setup();
    await openThenWait(s);
    // Ten trials whose requests died: their promises never settle.
    for (let i = 0; i < 10; i++) void s.cb.execute(() => new Promise<never>(() => {}));
    expect(s.cb.metrics().trialsInFlight).toBe(10);
    expect(await read(s.cb, s.clock)).toBe("rejected");
    await s.clock.advance(RANKING_BREAKER_DEFAULTS.halfOpenPermitLeaseMs);
    expect(s.cb.metrics()).toMatchObject({ state: "HALF_OPEN", trialsInFlight: 0, bufferedCalls: 0 });
    for (let i = 0; i < 10; i++) {
      await s.clock.advance(READ_EVERY_MS);
      expect(await read(s.cb, s.clock)).toBe("ok");
    }
    expect(s.cb.state).toBe("CLOSED");
  });

  it("the manual permit API leaks nothing either: unreported permits lapse after the lease", async () => {
    const s = setup();
    await openThenWait(s);
    for (let i = 0; i < 10; i++) expect(s.cb.tryAcquirePermission()).toBe(true);
    expect(s.cb.tryAcquirePermission()).toBe(false);
    await s.clock.advance(1999);
    expect(s.cb.tryAcquirePermission()).toBe(false);
    await s.clock.advance(1);
    expect(s.cb.tryAcquirePermission()).toBe(true);
  });

  it("a trial that outlives its lease still counts when it reports during the same half-open episode", async () => {
    const s = setup();
    await openThenWait(s);
    const late = s.cb.execute(async (signal) => s.clock.sleep(5000, signal)); // a 5 s ranking call
    await s.clock.advance(2000);
    expect(s.cb.metrics().trialsInFlight).toBe(0); // its lease lapsed: the permit is free again
    for (let i = 0; i < 9; i++) expect(await read(s.cb, s.clock)).toBe("ok");
    expect(s.cb.state).toBe("HALF_OPEN"); // 9 outcomes of 10
    await s.clock.advance(3000);
    await late; // the tenth outcome, slow (5 s > 40 ms): 1 of 10 slow → CLOSED
    expect(s.events.at(-1)).toMatchObject({ from: "HALF_OPEN", to: "CLOSED" });
    expect(s.events.at(-1)?.reason).toContain("slow-call rate 10.0% over 10 calls");
  });

  it("a lapsed lease hands its permit to the next call, and the verdict still comes from the first 10 outcomes", async () => {
    const s = setup();
    await openThenWait(s);
    const stuck = s.cb.execute(async (signal) => s.clock.sleep(60_000, signal)); // reports a minute late
    for (let i = 0; i < 9; i++) expect(await read(s.cb, s.clock)).toBe("ok");
    expect(s.cb.state).toBe("HALF_OPEN");
    expect(await read(s.cb, s.clock)).toBe("rejected"); // 9 reported + 1 leased = 10
    await s.clock.advance(2000);
    expect(await read(s.cb, s.clock)).toBe("ok"); // the lapsed permit, reissued
    expect(s.cb.state).toBe("CLOSED");
    await s.clock.advance(60_000);
    await stuck; // settles after the verdict: dropped, the fresh window stays empty
    expect(s.cb.metrics()).toMatchObject({ state: "CLOSED", bufferedCalls: 0 });
  });
});

describe("ranking breaker window at low traffic (resilience4j: minimum calls, fresh window on close)", () => {
  it("a breaker that just closed is judged only on calls made after it closed", async () => {
    const s = setup();
    await openThenWait(s);
    for (let i = 0; i < 10; i++) await read(s.cb, s.clock);
    expect(s.cb.metrics()).toMatchObject({ state: "CLOSED", bufferedCalls: 0, failedCalls: 0, failureRate: -1 });
    // Had the 100 failures that opened it stayed in the count window, this one failure would reopen it.
    expect(await read(s.cb, s.clock, "fail")).toBe("failed");
    expect(s.cb.metrics()).toMatchObject({ state: "CLOSED", bufferedCalls: 1, failedCalls: 1 });
  });

  it("at one call every 8 s the 100-call window takes 13+ minutes; no verdict before it is full, the usual one after", async () => {
    const s = setup();
    const t0 = s.clock.now();
    for (let i = 0; i < 99; i++) {
      expect(await read(s.cb, s.clock, i % 2 === 0 ? "fail" : "ok")).not.toBe("rejected"); // 50 failures of 99
      await s.clock.advance(READ_EVERY_MS);
    }
    expect(s.cb.metrics()).toMatchObject({ state: "CLOSED", bufferedCalls: 99, failedCalls: 50, failureRate: -1 });
    expect(await read(s.cb, s.clock, "ok")).toBe("ok"); // the 100th: 50% → OPEN
    expect(s.clock.now() - t0).toBeGreaterThan(13 * 60_000);
    expect(s.cb.state).toBe("OPEN");
  });
});
