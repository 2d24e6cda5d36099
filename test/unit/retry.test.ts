import { describe, expect, it } from "vitest";
import { CircuitOpenError } from "../../shared/circuit-breaker.ts";
import { FakeClock, systemClock } from "../../shared/clock.ts";
import {
  backoffMs, baseDelayMs, CDN_ORIGIN_RETRY, DB_READ_RETRY, DB_WRITE_RETRY, EXTERNAL_API_RETRY, FEATURE_STORE_RETRY,
  ML_INFERENCE_RETRY, retry, RetryExhaustedError, TryTimeoutError, worstCaseMs, type RetryOptions, type RetryPolicy,
} from "../../shared/retry.ts";

// The retry table of DESIGN.md §3, driven by a FakeClock and an injected random source.
const POLICIES: Record<string, [RetryPolicy, { retries: number; delaysMs: number[]; jitter: number; perTryTimeoutMs: number }]> = {
  featureStore: [FEATURE_STORE_RETRY, { retries: 2, delaysMs: [10, 50], jitter: 0.1, perTryTimeoutMs: 5 }],
  mlInference: [ML_INFERENCE_RETRY, { retries: 1, delaysMs: [20], jitter: 0.2, perTryTimeoutMs: 40 }],
  dbRead: [DB_READ_RETRY, { retries: 3, delaysMs: [10, 50, 200], jitter: 0.2, perTryTimeoutMs: 100 }],
  dbWrite: [DB_WRITE_RETRY, { retries: 3, delaysMs: [100, 500, 2000], jitter: 0.3, perTryTimeoutMs: 5000 }],
  cdnOrigin: [CDN_ORIGIN_RETRY, { retries: 2, delaysMs: [100, 500], jitter: 0.2, perTryTimeoutMs: 2000 }],
  externalApi: [EXTERNAL_API_RETRY, { retries: 3, delaysMs: [1000, 5000, 15000], jitter: 0.5, perTryTimeoutMs: 30000 }],
};

/**
 * Starts retry and advances the clock until it settles. FakeClock.advance resolves every sleep due in the
 * span in order (and the ones those wake-ups register), so attempt start times are exact.
 */
async function drive<T>(
  clock: FakeClock,
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy,
  opts: RetryOptions = {},
): Promise<{ result: T | undefined; error: unknown; starts: number[]; settledAt: number }> {
  const t0 = clock.now();
  const starts: number[] = [];
  let settledAt = -1;
  const p = retry((a, s) => {
    starts.push(clock.now() - t0);
    return fn(a, s);
  }, policy, { clock, ...opts }).then(
    (result) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  ).finally(() => (settledAt = clock.now() - t0));
  for (let i = 0; i < 1000 && settledAt < 0; i++) await clock.advance(1000);
  return { ...(await p), starts, settledAt };
}
const failing = async (): Promise<never> => {
  throw new Error("transient");
};

describe("retry: policies from the design's table", () => {
  it("carry the table's exact numbers", () => {
    for (const [policy, expected] of Object.values(POLICIES)) expect(policy).toEqual(expected);
  });

  it("backs off within ±jitter of each delay, the last delay repeating past the table", () => {
    expect(baseDelayMs(DB_READ_RETRY, 1)).toBe(10);
    expect(baseDelayMs(DB_READ_RETRY, 3)).toBe(200);
    expect(baseDelayMs(ML_INFERENCE_RETRY, 4)).toBe(20);
    for (const [policy] of Object.values(POLICIES)) {
      for (let r = 1; r <= policy.retries; r++) {
        const base = policy.delaysMs[r - 1];
        expect(backoffMs(policy, r, () => 0)).toBeCloseTo(base * (1 - policy.jitter), 9);
        expect(backoffMs(policy, r, () => 0.5)).toBeCloseTo(base, 9);
        expect(Math.abs(backoffMs(policy, r, () => 0.999999) - base * (1 + policy.jitter))).toBeLessThan(base * 1e-5);
      }
    }
  });

  it("gives the worst case of a policy (every try times out, every delay jitters high)", () => {
    expect(worstCaseMs(ML_INFERENCE_RETRY)).toBeCloseTo(40 + 24 + 40, 9);
    expect(worstCaseMs(DB_READ_RETRY)).toBeCloseTo(400 + (10 + 50 + 200) * 1.2, 9);
  });
});

describe("retry: the loop", () => {
  for (const [name, [policy]] of Object.entries(POLICIES)) {
    it(`${name}: sleeps the jittered delays between attempts (low and high random)`, async () => {
      for (const r of [0, 0.99]) {
        const clock = new FakeClock();
        const delays: number[] = [];
        const { error, starts } = await drive(clock, failing, policy, { random: () => r, onRetry: (i) => delays.push(i.delayMs) });
        expect(error).toBeInstanceOf(RetryExhaustedError);
        expect(starts).toHaveLength(policy.retries + 1);
        for (let k = 1; k <= policy.retries; k++) {
          const base = policy.delaysMs[Math.min(k, policy.delaysMs.length) - 1];
          const lo = base * (1 - policy.jitter);
          const hi = base * (1 + policy.jitter);
          expect(delays[k - 1]).toBeGreaterThanOrEqual(lo);
          expect(delays[k - 1]).toBeLessThanOrEqual(hi);
          // The tries fail instantly, so the gap between attempt starts is exactly that delay.
          expect(starts[k] - starts[k - 1]).toBeCloseTo(delays[k - 1], 6);
        }
      }
    });
  }

  it("succeeds on attempt k and returns its value", async () => {
    const clock = new FakeClock();
    const { result, starts } = await drive(clock, async (attempt) => {
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return `ok on ${attempt}`;
    }, DB_READ_RETRY, { random: () => 0.5 });
    expect(result).toBe("ok on 3");
    expect(starts).toEqual([0, 10, 60]);
    expect(clock.pendingSleeps).toBe(0); // per-try timers cleaned up
  });

  it("exhausts with RetryExhaustedError carrying the last error and the attempt count", async () => {
    const clock = new FakeClock();
    const { error } = await drive(clock, async (a) => Promise.reject(new Error(`e${a}`)), FEATURE_STORE_RETRY, { random: () => 0.5 });
    expect(error).toBeInstanceOf(RetryExhaustedError);
    const e = error as RetryExhaustedError;
    expect(e.attempts).toBe(3);
    expect(e.reason).toBe("attempts");
    expect((e.lastError as Error).message).toBe("e3");
    expect(e.cause).toBe(e.lastError);
  });

  it("aborts a try at its per-try timeout (signal aborted with TryTimeoutError) and retries", async () => {
    const clock = new FakeClock();
    const seen: unknown[] = [];
    const { result, starts } = await drive(clock, (attempt, signal) => {
      if (attempt === 2) return Promise.resolve("second try");
      return new Promise<string>((_, reject) => signal.addEventListener("abort", () => {
        seen.push(signal.reason);
        reject(signal.reason);
      }));
    }, ML_INFERENCE_RETRY, { random: () => 0.5 });
    expect(result).toBe("second try");
    expect(seen[0]).toBeInstanceOf(TryTimeoutError);
    expect(seen[0]).toMatchObject({ attempt: 1, timeoutMs: 40 });
    expect(starts).toEqual([0, 60]); // 40 ms timeout + 20 ms backoff
  });

  it("times out a try even when fn ignores its signal", async () => {
    const clock = new FakeClock();
    const { error, starts } = await drive(clock, () => new Promise<never>(() => {}), ML_INFERENCE_RETRY, { random: () => 0 });
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect((error as RetryExhaustedError).lastError).toBeInstanceOf(TryTimeoutError);
    expect(starts).toEqual([0, 56]); // 40 + 20 × 0.8
  });

  it("stops at once on a non-retryable error, throwing it as-is", async () => {
    class BadRequest extends Error {}
    const clock = new FakeClock();
    const { error, starts } = await drive(clock, async () => Promise.reject(new BadRequest("400")), DB_READ_RETRY, {
      retryable: (e) => !(e instanceof BadRequest),
    });
    expect(error).toBeInstanceOf(BadRequest);
    expect(starts).toEqual([0]);
  });

  it("does not retry an open circuit by default", async () => {
    const clock = new FakeClock();
    const { error, starts } = await drive(clock, async () => Promise.reject(new CircuitOpenError("ranking", "OPEN", 1000)), ML_INFERENCE_RETRY);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(starts).toEqual([0]);
  });

  it("respects the overall deadline: the last try is cut to the time left, no backoff into the deadline", async () => {
    const clock = new FakeClock();
    const timeouts: number[] = [];
    const { error, starts, settledAt } = await drive(clock, (_a, signal) => new Promise<never>((_, reject) => signal.addEventListener("abort", () => {
      timeouts.push((signal.reason as TryTimeoutError).timeoutMs);
      reject(signal.reason);
    })), DB_READ_RETRY, { random: () => 0.5, deadlineMs: 150 });
    // try 1: 0–100 (timeout), backoff 10, try 2: 110–150 (cut to the 40 ms left), then no time for a backoff.
    expect(starts).toEqual([0, 110]);
    expect(timeouts).toEqual([100, 40]);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error).toMatchObject({ reason: "deadline", attempts: 2 });
    expect(settledAt).toBe(150);
  });

  it("stops when the caller aborts, during a try or a backoff, rethrowing the abort reason", async () => {
    const clock = new FakeClock();
    const ctl = new AbortController();
    let tries = 0;
    const p = retry(async () => {
      tries++;
      throw new Error("transient");
    }, DB_WRITE_RETRY, { clock, signal: ctl.signal, random: () => 0.5 }).catch((e: unknown) => e);
    await clock.advance(50); // inside the 100 ms backoff
    ctl.abort(new Error("client went away"));
    expect(await p).toMatchObject({ message: "client went away" });
    await clock.advance(10_000);
    expect(tries).toBe(1);
    expect(clock.pendingSleeps).toBe(0);
  });
});

describe("retry: on the system clock", () => {
  it("times out a hung try with real timers and succeeds on the retry (no timing asserted)", async () => {
    const policy: RetryPolicy = { retries: 1, delaysMs: [1], jitter: 0, perTryTimeoutMs: 5 };
    let aborted: unknown;
    const value = await retry((attempt, signal) => {
      if (attempt === 2) return Promise.resolve("ok");
      return new Promise<string>((_, reject) => signal.addEventListener("abort", () => reject((aborted = signal.reason))));
    }, policy, { clock: systemClock });
    expect(value).toBe("ok");
    expect(aborted).toBeInstanceOf(TryTimeoutError);
  });

  it("gives up at once with a zero deadline", async () => {
    const err = await retry(async () => "never", DB_READ_RETRY, { deadlineMs: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "deadline", attempts: 0 });
  });

  it("systemClock.sleep rejects with the abort reason", async () => {
    const ctl = new AbortController();
    const p = systemClock.sleep(60_000, ctl.signal);
    ctl.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
  });
});
