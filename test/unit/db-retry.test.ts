import { afterEach, describe, expect, it } from "vitest";
import { RETRY, retryRow } from "../../shared/config.ts";
import { RetryExhaustedError } from "../../shared/retry.ts";
import { dbWrite, readRetrying } from "../../origin/db-retry.ts";
import { originConfig, type OriginBindings } from "../../origin/env.ts";
import { isolateRetry, originRetry, PRODUCTION_ORIGIN_RETRY, useIsolateRetry } from "../../origin/retry-policy.ts";
import { pgError, scriptedDb } from "../support/failing-deps.ts";

// The DB rows of DESIGN.md §3 as the origin applies them (origin/db-retry.ts), with the production values:
// tries counted against a failing Postgres behind our Db interface, the per-try timeout each statement
// was given, and the write backoff (lower bounds only: tests assert behaviour, not timings).

afterEach(() => {
  useIsolateRetry(PRODUCTION_ORIGIN_RETRY);
});

const SQL = "SELECT home_region FROM users WHERE user_id = $1";

describe("the origin's retry rows", () => {
  it("are the seed's table unless a per-try timeout is overridden, and only that changes", () => {
    expect(PRODUCTION_ORIGIN_RETRY).toEqual({ featureStore: RETRY.featureStore, dbRead: RETRY.dbRead, dbWrite: RETRY.dbWrite });
    const local = originRetry({ featureStoreTryMs: 50, dbReadTryMs: 300 });
    expect(local.featureStore).toEqual({ ...RETRY.featureStore, perTryTimeoutMs: 50 });
    expect(local.dbRead).toEqual({ ...RETRY.dbRead, perTryTimeoutMs: 300 });
    expect(local.dbWrite).toBe(RETRY.dbWrite);
    expect(() => retryRow("dbRead", 0)).toThrow(RangeError);
  });

  it("come from the worker's vars: production without them, the overrides with them, bad values refused", () => {
    const base: OriginBindings = {
      REGION: "us", DATABASE_URL: "postgres://x", UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1", UPSTASH_REDIS_REST_TOKEN: "t",
      RANKING_URL: "http://127.0.0.1:2", INTERNAL_SECRET: "secret-secret",
    };
    originConfig({ ...base });
    expect(isolateRetry()).toEqual(PRODUCTION_ORIGIN_RETRY);
    originConfig({ ...base, RETRY_FEATURE_STORE_TRY_MS: "50", RETRY_DB_READ_TRY_MS: "250" });
    expect(isolateRetry().featureStore.perTryTimeoutMs).toBe(50);
    expect(isolateRetry().dbRead.perTryTimeoutMs).toBe(250);
    expect(isolateRetry().dbRead.retries).toBe(3);
    for (const bad of [{ RETRY_FEATURE_STORE_TRY_MS: "0" }, { RETRY_FEATURE_STORE_TRY_MS: "151" }, { RETRY_DB_READ_TRY_MS: "501" }, { RETRY_DB_READ_TRY_MS: "x" }])
      expect(() => originConfig({ ...base, ...bad })).toThrow();
  });
});

describe("DB read row (3 retries, 10/50/200 ms ±20%, 100 ms per try)", () => {
  it("a failing read is tried 4 times, each with the 100 ms per-try timeout, then RetryExhaustedError", async () => {
    const db = scriptedDb();
    const err = await readRetrying(db).query(SQL, ["1"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhaustedError);
    expect(err).toMatchObject({ attempts: 4, reason: "attempts" });
    expect(db.tries.map((t) => t.timeoutMs)).toEqual([100, 100, 100, 100]);
  });

  it("a hung read is cut at each try's timeout and tried 4 times", async () => {
    const db = scriptedDb(() => "hang");
    const err = await readRetrying(db).query(SQL, ["1"]).catch((e: unknown) => e);
    expect(err).toMatchObject({ attempts: 4 });
    expect(db.tries).toHaveLength(4);
  });

  it("succeeds on the try that answers", async () => {
    const db = scriptedDb((_s, _p, n) => (n < 3 ? new Error("reset") : [{ home_region: "us" }]));
    expect(await readRetrying(db).query(SQL, ["1"])).toEqual([{ home_region: "us" }]);
    expect(db.tries).toHaveLength(3);
  });

  it("a permanent SQLSTATE is thrown at once, untouched", async () => {
    const db = scriptedDb(() => pgError("42P01", "relation does not exist"));
    await expect(readRetrying(db).query(SQL)).rejects.toMatchObject({ code: "42P01" });
    expect(db.tries).toHaveLength(1);
  });

  it("a statement with its own timeout keeps it per try (cached aggregates), with the row's retries", async () => {
    const db = scriptedDb();
    await readRetrying(db).query(SQL, [], 2000).catch(() => {});
    expect(db.tries.map((t) => t.timeoutMs)).toEqual([2000, 2000, 2000, 2000]);
  });

  it("wrapping twice does not retry the retries", async () => {
    const db = scriptedDb();
    await readRetrying(readRetrying(db)).query(SQL).catch(() => {});
    expect(db.tries).toHaveLength(4);
  });

  it("uses the isolate's per-try override (a slow local box) and nothing else changes", async () => {
    useIsolateRetry(originRetry({ dbReadTryMs: 300 }));
    const db = scriptedDb();
    await readRetrying(db).query(SQL).catch(() => {});
    expect(db.tries.map((t) => t.timeoutMs)).toEqual([300, 300, 300, 300]);
  });
});

describe("DB write row (3 retries, 100/500/2000 ms ±30%, 5 s per try)", () => {
  it("a failing write is tried 4 times with the 5 s per-try timeout and at least the backoff's lower bounds between tries", async () => {
    const db = scriptedDb();
    const err = await dbWrite((t) => db.query("INSERT INTO interactions …", [], t)).catch((e: unknown) => e);
    expect(err).toMatchObject({ attempts: 4, reason: "attempts" });
    expect(db.tries.map((t) => t.timeoutMs)).toEqual([5000, 5000, 5000, 5000]);
    const gaps = db.tries.slice(1).map((t, i) => t.at - db.tries[i].at);
    [100, 500, 2000].forEach((base, i) => expect(gaps[i]).toBeGreaterThanOrEqual(base * (1 - 0.3) - 1));
  });

  it("a permanent SQLSTATE (the data itself) is not retried", async () => {
    const db = scriptedDb(() => pgError("22007", "invalid input syntax for type timestamp"));
    await expect(dbWrite((t) => db.query("INSERT …", [], t))).rejects.toMatchObject({ code: "22007" });
    expect(db.tries).toHaveLength(1);
  });
});
