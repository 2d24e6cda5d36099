import { describe, expect, it } from "vitest";
import {
  breakerStateGauge, CircuitBreaker, CircuitOpenError, RANKING_BREAKER_DEFAULTS,
  type CircuitBreakerOptions, type StateTransition,
} from "../../shared/circuit-breaker.ts";
import { FakeClock } from "../../shared/clock.ts";

// Every transition of the ranking breaker (DESIGN.md §3) walked with a FakeClock: count window of 100,
// ≥ 100 calls before a verdict, failure ≥ 50% or slow (> 40 ms) ≥ 80% → OPEN, 30 s open, 10 trials.
function setup(over: CircuitBreakerOptions = {}) {
  const clock = new FakeClock();
  const events: StateTransition[] = [];
  const cb = new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, name: "ranking", clock, onStateTransition: (e) => events.push(e), ...over });
  return { cb, clock, events };
}

/** One call through the manual API; returns false if it was not permitted. */
function call(cb: CircuitBreaker, outcome: "ok" | "fail", durationMs = 5): boolean {
  if (!cb.tryAcquirePermission()) return false;
  if (outcome === "ok") cb.onSuccess(durationMs);
  else cb.onError(durationMs, new Error("boom"));
  return true;
}
function calls(cb: CircuitBreaker, n: number, outcome: "ok" | "fail", durationMs = 5): void {
  for (let i = 0; i < n; i++) call(cb, outcome, durationMs);
}
/** Trips the breaker: 100 failures. */
function trip(cb: CircuitBreaker): void {
  calls(cb, 100, "fail");
  expect(cb.state).toBe("OPEN");
}
const transitions = (events: StateTransition[]) => events.map((e) => `${e.from}->${e.to}`);

describe("circuit breaker: ranking defaults", () => {
  it("match the design's numbers", () => {
    expect(RANKING_BREAKER_DEFAULTS).toMatchObject({
      slidingWindowType: "COUNT_BASED",
      slidingWindowSize: 100,
      minimumNumberOfCalls: 100,
      failureRateThreshold: 50,
      slowCallRateThreshold: 80,
      slowCallDurationThreshold: 40,
      waitDurationInOpenState: 30_000,
      permittedNumberOfCallsInHalfOpenState: 10,
      maxWaitDurationInHalfOpenState: 0, // the design names no half-open limit; resilience4j's default
      halfOpenPermitLeaseMs: 2000, // the edge's per-try timeout for origin fetches
    });
  });

  it("maps states to the fyp_breaker_state gauge", () => {
    expect(["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED"].map((s) => breakerStateGauge(s as never))).toEqual([0, 1, 2, 1, 0]);
  });
});

describe("circuit breaker: CLOSED", () => {
  it("stays closed below the minimum number of calls, even at 100% failures", () => {
    const { cb, events } = setup();
    calls(cb, 99, "fail");
    expect(cb.state).toBe("CLOSED");
    expect(cb.metrics()).toMatchObject({ failureRate: -1, slowCallRate: -1, bufferedCalls: 99, failedCalls: 99 });
    call(cb, "fail");
    expect(cb.state).toBe("OPEN");
    expect(transitions(events)).toEqual(["CLOSED->OPEN"]);
  });

  it("opens when the failure rate reaches 50%, not at 49%", () => {
    const below = setup().cb;
    for (let i = 0; i < 100; i++) call(below, i < 49 ? "fail" : "ok");
    expect(below.state).toBe("CLOSED");
    expect(below.metrics().failureRate).toBe(49);

    const at = setup().cb;
    for (let i = 0; i < 100; i++) call(at, i % 2 === 0 ? "fail" : "ok");
    expect(at.state).toBe("OPEN");
    expect(at.metrics()).toMatchObject({ failureRate: 50, failedCalls: 50, bufferedCalls: 100 });
  });

  it("opens on the slow-call rate with every call successful (slow = strictly over 40 ms)", () => {
    const { cb, events } = setup();
    calls(cb, 20, "ok", 40); // exactly the threshold: not slow
    calls(cb, 80, "ok", 41);
    expect(cb.state).toBe("OPEN");
    expect(cb.metrics()).toMatchObject({ failureRate: 0, slowCallRate: 80, slowCalls: 80, failedCalls: 0 });
    expect(events[0].reason).toContain("slow-call rate 80.0%");

    const below = setup().cb;
    calls(below, 21, "ok", 40);
    calls(below, 79, "ok", 41);
    expect(below.state).toBe("CLOSED");
  });

  it("counts a slow failure as both failed and slow", () => {
    const { cb } = setup({ slidingWindowSize: 4, minimumNumberOfCalls: 4, failureRateThreshold: 100, slowCallRateThreshold: 100 });
    call(cb, "fail", 100);
    calls(cb, 2, "ok", 1);
    call(cb, "ok", 100);
    expect(cb.metrics()).toMatchObject({ bufferedCalls: 4, failedCalls: 1, slowCalls: 2, failureRate: 25, slowCallRate: 50 });
  });

  it("slides: the oldest outcomes leave the window", () => {
    const { cb } = setup({ slidingWindowSize: 10, minimumNumberOfCalls: 10 });
    calls(cb, 4, "fail");
    calls(cb, 6, "ok");
    expect(cb.metrics()).toMatchObject({ failureRate: 40, failedCalls: 4 });
    calls(cb, 2, "ok"); // evicts two of the failures
    expect(cb.metrics()).toMatchObject({ failureRate: 20, failedCalls: 2, bufferedCalls: 10 });
    calls(cb, 2, "ok");
    expect(cb.metrics().failedCalls).toBe(0);
    calls(cb, 4, "fail"); // 4 of the last 10: had the old 4 stayed, this would be 80% and open
    expect(cb.state).toBe("CLOSED");
    call(cb, "fail");
    expect(cb.state).toBe("OPEN");
  });

  it("caps the minimum at the window size for a count window (resilience4j)", () => {
    const { cb } = setup({ slidingWindowSize: 5, minimumNumberOfCalls: 100 });
    calls(cb, 5, "fail");
    expect(cb.state).toBe("OPEN");
  });

  it("time-based window: outcomes older than the window's seconds expire", async () => {
    const { cb, clock } = setup({ slidingWindowType: "TIME_BASED", slidingWindowSize: 10, minimumNumberOfCalls: 6 });
    calls(cb, 4, "fail");
    await clock.advance(10_000);
    expect(cb.metrics().bufferedCalls).toBe(0);
    calls(cb, 2, "fail");
    calls(cb, 3, "ok");
    expect(cb.state).toBe("CLOSED"); // 5 calls < 6: the 4 old failures no longer count
    call(cb, "ok");
    expect(cb.metrics()).toMatchObject({ bufferedCalls: 6, failedCalls: 2 });
    expect(cb.state).toBe("CLOSED");
  });

  it("treats errors the recordError predicate rejects as successes, and ignoreError ones as nothing", () => {
    class NotFound extends Error {}
    class Cancelled extends Error {}
    const { cb } = setup({ recordError: (e) => !(e instanceof NotFound), ignoreError: (e) => e instanceof Cancelled });
    for (let i = 0; i < 50; i++) {
      cb.tryAcquirePermission();
      cb.onError(5, new NotFound());
      cb.tryAcquirePermission();
      cb.onError(5, new Cancelled());
    }
    expect(cb.metrics()).toMatchObject({ bufferedCalls: 50, failedCalls: 0 });
  });
});

describe("circuit breaker: OPEN", () => {
  it("rejects with CircuitOpenError (retryAfterMs counting down) until the 30 s wait elapses", async () => {
    const { cb, clock, events } = setup();
    trip(cb);
    let ran = false;
    const err = await cb.execute(async () => (ran = true)).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ state: "OPEN", retryAfterMs: 30_000, breaker: "ranking" });
    await clock.advance(29_999);
    expect(cb.tryAcquirePermission()).toBe(false);
    expect(() => cb.acquirePermission()).toThrow(expect.objectContaining({ retryAfterMs: 1 }));
    expect(cb.metrics().notPermittedCalls).toBe(3);
    await clock.advance(1);
    expect(cb.state).toBe("HALF_OPEN"); // automatic transition: observed without a call
    expect(transitions(events)).toEqual(["CLOSED->OPEN", "OPEN->HALF_OPEN"]);
    expect(events[1].atMs - events[0].atMs).toBe(30_000);
  });

  it("without automatic transition, stays OPEN until a call arrives after the wait", async () => {
    const { cb, clock } = setup({ automaticTransitionFromOpenToHalfOpenEnabled: false });
    trip(cb);
    await clock.advance(60_000);
    expect(cb.state).toBe("OPEN");
    expect(cb.tryAcquirePermission()).toBe(true);
    expect(cb.state).toBe("HALF_OPEN");
  });

  it("keeps the window that tripped it visible in metrics()", () => {
    const { cb } = setup();
    trip(cb);
    expect(cb.metrics()).toMatchObject({ state: "OPEN", failureRate: 100, bufferedCalls: 100 });
  });
});

describe("circuit breaker: HALF_OPEN", () => {
  async function halfOpen(over: CircuitBreakerOptions = {}) {
    const s = setup(over);
    trip(s.cb);
    await s.clock.advance(30_000);
    expect(s.cb.state).toBe("HALF_OPEN");
    return s;
  }

  it("admits exactly 10 trial calls and rejects the 11th while they are pending", async () => {
    const { cb } = await halfOpen();
    for (let i = 0; i < 10; i++) expect(cb.tryAcquirePermission()).toBe(true);
    expect(cb.tryAcquirePermission()).toBe(false);
    expect(() => cb.acquirePermission()).toThrow(expect.objectContaining({ state: "HALF_OPEN", retryAfterMs: 0 }));
    expect(cb.metrics()).toMatchObject({ state: "HALF_OPEN", bufferedCalls: 0, failureRate: -1 });
  });

  it("closes with a fresh window when the 10 trials are healthy (4 failures = 40% < 50%)", async () => {
    const { cb, events } = await halfOpen();
    calls(cb, 4, "fail");
    calls(cb, 5, "ok");
    expect(cb.state).toBe("HALF_OPEN"); // no verdict before all 10
    call(cb, "ok");
    expect(cb.state).toBe("CLOSED");
    expect(cb.metrics()).toMatchObject({ bufferedCalls: 0, failureRate: -1 });
    expect(transitions(events)).toEqual(["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"]);
    calls(cb, 99, "fail"); // fresh window: the minimum applies again
    expect(cb.state).toBe("CLOSED");
  });

  it("reopens for another full wait when 5 of 10 trials fail", async () => {
    const { cb, clock, events } = await halfOpen();
    calls(cb, 5, "ok");
    calls(cb, 5, "fail");
    expect(cb.state).toBe("OPEN");
    await clock.advance(29_999);
    expect(cb.tryAcquirePermission()).toBe(false);
    await clock.advance(1);
    expect(cb.state).toBe("HALF_OPEN");
    expect(transitions(events)).toEqual(["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->OPEN", "OPEN->HALF_OPEN"]);
  });

  it("reopens when 8 of 10 trials are slow, though all succeed", async () => {
    const { cb } = await halfOpen();
    calls(cb, 8, "ok", 45);
    calls(cb, 2, "ok", 10);
    expect(cb.state).toBe("OPEN");
    expect(cb.metrics().state).toBe("OPEN");
  });

  it("frees a trial slot on releasePermission and on an ignored error", async () => {
    const { cb } = await halfOpen({ ignoreError: (e) => e instanceof TypeError });
    for (let i = 0; i < 10; i++) cb.tryAcquirePermission();
    expect(cb.tryAcquirePermission()).toBe(false);
    cb.releasePermission();
    expect(cb.tryAcquirePermission()).toBe(true);
    cb.onError(1, new TypeError("caller cancelled"));
    expect(cb.tryAcquirePermission()).toBe(true);
    expect(cb.metrics().bufferedCalls).toBe(0);
  });

  it("opt-in maxWaitDurationInHalfOpenState: goes back to OPEN if the trials do not report in time", async () => {
    const { cb, clock, events } = await halfOpen({ maxWaitDurationInHalfOpenState: 30_000 });
    for (let i = 0; i < 10; i++) cb.tryAcquirePermission();
    await clock.advance(30_000);
    expect(cb.state).toBe("OPEN");
    expect(events.at(-1)?.reason).toContain("unfinished");
  });

  it("execute(): a straggler that began while CLOSED does not count as a trial", async () => {
    const { cb, clock } = await halfOpen();
    // Reset to build the straggler scenario: a call in flight across CLOSED → OPEN → HALF_OPEN.
    cb.reset();
    const straggler = cb.execute((s) => clock.sleep(40_000, s)).catch(() => undefined);
    trip(cb);
    await clock.advance(30_000);
    expect(cb.state).toBe("HALF_OPEN");
    await clock.advance(10_000); // straggler settles now (slow success): must be dropped
    await straggler;
    expect(cb.metrics().bufferedCalls).toBe(0);
  });
});

describe("circuit breaker: execute, forced states, listeners", () => {
  it("execute() times calls with the clock and passes results and errors through", async () => {
    const { cb, clock } = setup({ slidingWindowSize: 2, minimumNumberOfCalls: 2, failureRateThreshold: 100 });
    const slow = cb.execute(async (signal) => {
      expect(signal).toBeInstanceOf(AbortSignal);
      await clock.sleep(50);
      return "ranked";
    });
    await clock.advance(50);
    expect(await slow).toBe("ranked");
    await expect(cb.execute(async () => Promise.reject(new Error("503")))).rejects.toThrow("503");
    expect(cb.metrics()).toMatchObject({ slowCalls: 1, failedCalls: 1, bufferedCalls: 2 });
  });

  it("forceOpen rejects regardless of time; reset closes with zeroed counters; disable permits and records nothing", async () => {
    const { cb, clock, events } = setup();
    cb.forceOpen();
    await clock.advance(120_000);
    expect(cb.state).toBe("FORCED_OPEN");
    expect(() => cb.acquirePermission()).toThrow(CircuitOpenError);
    cb.reset();
    expect(cb.metrics()).toMatchObject({ state: "CLOSED", notPermittedCalls: 0, bufferedCalls: 0 });
    cb.disable();
    calls(cb, 200, "fail");
    expect(cb.metrics()).toMatchObject({ state: "DISABLED", bufferedCalls: 0 });
    cb.reset();
    expect(transitions(events)).toEqual(["CLOSED->FORCED_OPEN", "FORCED_OPEN->CLOSED", "CLOSED->DISABLED", "DISABLED->CLOSED"]);
  });

  it("notifies listeners in transition order with timestamps; a throwing listener breaks nothing", async () => {
    const { cb, clock, events } = setup();
    const late: string[] = [];
    const off = cb.onStateTransition((e) => {
      late.push(e.to);
      throw new Error("listener bug");
    });
    const t0 = clock.now();
    trip(cb);
    await clock.advance(30_000);
    calls(cb, 10, "fail");
    await clock.advance(30_000);
    calls(cb, 10, "ok");
    off();
    cb.forceOpen();
    expect(transitions(events)).toEqual([
      "CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED", "CLOSED->FORCED_OPEN",
    ]);
    expect(events.map((e) => e.atMs - t0)).toEqual([0, 30_000, 30_000, 60_000, 60_000, 60_000]);
    expect(late).toEqual(["OPEN", "HALF_OPEN", "OPEN", "HALF_OPEN", "CLOSED"]);
  });

  it("rejects invalid configuration", () => {
    expect(() => new CircuitBreaker({ failureRateThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ permittedNumberOfCallsInHalfOpenState: 0 })).toThrow(RangeError);
  });
});
