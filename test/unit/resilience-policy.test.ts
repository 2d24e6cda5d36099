import { describe, expect, it } from "vitest";
import { Bulkhead, BulkheadFullError } from "../../origin/bulkhead.ts";
import { DependencyHealth } from "../../origin/dependency-health.ts";
import { CircuitBreaker, CircuitOpenError, RANKING_BREAKER_DEFAULTS } from "../../shared/circuit-breaker.ts";
import { FakeClock } from "../../shared/clock.ts";
import { NOOP_POLICY, type ResiliencePolicy, retryPolicy, timeoutPolicy, wrap } from "../../shared/resilience-policy.ts";
import { ML_INFERENCE_RETRY, RetryExhaustedError, TryTimeoutError } from "../../shared/retry.ts";

// shared/resilience-policy.ts: one call shape, execute(fn, signal), and wrap composing outermost first
// (cockatiel's order: wrap(retry, breaker) = every try of the retry is one call through the breaker).

/** A policy that logs when a call enters and leaves it, and hands fn a signal of its own (aborted with the caller's). */
function tracer(name: string, log: string[], signals: AbortSignal[] = []): ResiliencePolicy {
  return {
    async execute(fn, signal) {
      log.push(`${name}>`);
      const ctl = new AbortController();
      signal?.addEventListener("abort", () => ctl.abort(signal.reason), { once: true });
      signals.push(ctl.signal);
      try {
        return await fn(ctl.signal);
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

/** Settles `p` while advancing the fake clock in 1 ms steps. */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  let done = false;
  const out = p.then((value) => ({ value }), (error: unknown) => ({ error })).finally(() => (done = true));
  for (let i = 0; i < 10_000 && !done; i++) await clock.advance(1);
  return out;
}

describe("wrap: composition order and signals", () => {
  it("runs the first policy outermost, fn innermost", async () => {
    const log: string[] = [];
    const v = await wrap(tracer("a", log), tracer("b", log), tracer("c", log)).execute(async () => (log.push("fn"), 7));
    expect(v).toBe(7);
    expect(log).toEqual(["a>", "b>", "c>", "fn", "<c", "<b", "<a"]);
  });

  it("hands each layer the signal of the layer outside it, and fn the innermost one", async () => {
    const log: string[] = [];
    const signals: AbortSignal[] = [];
    let seen: AbortSignal | undefined;
    const outer = new AbortController();
    await wrap(tracer("a", log, signals), tracer("b", log, signals)).execute(async (s) => void (seen = s), outer.signal);
    expect(seen).toBe(signals[1]);
    outer.abort(new Error("caller gone"));
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect((seen!.reason as Error).message).toBe("caller gone");
  });

  it("an abort from outside cancels the inner try of wrap(retry, breaker) and is not retried", async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, clock });
    const outer = new AbortController();
    let tries = 0;
    let innerAbort: unknown;
    const p = wrap(retryPolicy(ML_INFERENCE_RETRY, { clock }), breaker).execute(
      (signal) => new Promise<never>((_, reject) => {
        tries++;
        signal.addEventListener("abort", () => reject((innerAbort = signal.reason)), { once: true });
      }),
      outer.signal,
    );
    await clock.advance(10); // within the first try's 40 ms
    const reason = new DOMException("request cancelled", "AbortError");
    outer.abort(reason);
    const { error } = await drive(clock, p);
    expect(innerAbort).toBe(reason);
    expect(error).toBe(reason);
    expect(tries).toBe(1);
    expect(breaker.metrics().bufferedCalls).toBe(1);
  });

  it("wrap(retry, breaker): each try is one breaker call; an open breaker ends the retries at once", async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, clock });
    let tries = 0;
    const failing = () => (tries++, Promise.reject(new Error("5xx")));
    const { error } = await drive(clock, wrap(retryPolicy(ML_INFERENCE_RETRY, { clock }), breaker).execute(failing));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(tries).toBe(2); // 1 retry
    expect(breaker.metrics()).toMatchObject({ bufferedCalls: 2, failedCalls: 2 });
    breaker.forceOpen();
    const refused = await drive(clock, wrap(retryPolicy(ML_INFERENCE_RETRY, { clock }), breaker).execute(failing));
    expect(refused.error).toBeInstanceOf(CircuitOpenError);
    expect(tries).toBe(2);
  });

  it("wrap(breaker, retry) is the other order: the whole retried step is one breaker call", async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker({ ...RANKING_BREAKER_DEFAULTS, clock });
    await drive(clock, wrap(breaker, retryPolicy(ML_INFERENCE_RETRY, { clock })).execute(() => Promise.reject(new Error("5xx"))));
    expect(breaker.metrics()).toMatchObject({ bufferedCalls: 1, failedCalls: 1 });
  });

  it("wrap() with no policy, and NOOP_POLICY, just call fn", async () => {
    expect(await wrap().execute(async () => 1)).toBe(1);
    expect(await NOOP_POLICY.execute(async (s) => s.aborted)).toBe(false);
  });
});

describe("the policies", () => {
  it("retryPolicy: the row's tries, each aborted at the row's per-try timeout", async () => {
    const clock = new FakeClock();
    const reasons: unknown[] = [];
    const policy = retryPolicy(ML_INFERENCE_RETRY, { clock, random: () => 0.5 });
    expect(policy.row).toBe(ML_INFERENCE_RETRY);
    const { error } = await drive(clock, policy.execute((signal) => new Promise<never>((_, reject) =>
      signal.addEventListener("abort", () => (reasons.push(signal.reason), reject(signal.reason))))));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatchObject({ attempt: 1, timeoutMs: 40 });
  });

  it("timeoutPolicy: rejects with TryTimeoutError at the timeout even when fn ignores its signal", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    let at = -1;
    const p = timeoutPolicy(40, { clock }).execute(() => new Promise<never>(() => {})).catch((e: unknown) => ((at = clock.now() - t0), e));
    const { value } = await drive(clock, p);
    expect(value).toBeInstanceOf(TryTimeoutError);
    expect(at).toBe(40);
    expect(clock.pendingSleeps).toBe(0);
  });

  it("Bulkhead: refuses with BulkheadFullError past its limit, without calling fn", async () => {
    const b = new Bulkhead(1);
    let release!: () => void;
    const first = b.execute(() => new Promise<void>((r) => (release = r)));
    let called = false;
    await expect(b.execute(async () => void (called = true))).rejects.toBeInstanceOf(BulkheadFullError);
    expect(called).toBe(false);
    expect(b.rejected).toBe(1);
    release();
    await first;
    expect(b.active).toBe(0);
    expect(await b.run(async () => "ran", async () => "overflow")).toBe("ran");
  });

  it("DependencyHealth outermost: one sample for the whole retried step; observing() skips what never reached the dependency", async () => {
    const clock = new FakeClock();
    const ml = new DependencyHealth("ml", { clock });
    await drive(clock, wrap(ml, retryPolicy(ML_INFERENCE_RETRY, { clock })).execute(() => Promise.reject(new Error("5xx"))));
    expect(ml.view().samples).toBe(1);
    await wrap(ml.observing((e) => e instanceof CircuitOpenError)).execute(() => Promise.reject(new CircuitOpenError("ranking", "OPEN", 0))).catch(() => {});
    expect(ml.view().samples).toBe(1);
  });
});
