import type { RetryPolicy } from "../shared/config.ts";
import { retryPolicy } from "../shared/resilience-policy.ts";
import { defaultRetryable } from "../shared/retry.ts";
import { type Db, isPermanentDbError } from "./db.ts";
import { isolateRetry } from "./retry-policy.ts";

// Postgres calls under the seed's DB rows (DESIGN.md §3; rows: origin/retry-policy.ts), each row run as a
// shared/resilience-policy.ts retryPolicy. Each try is one statement given the try's timeout as its own
// query timeout (origin/db.ts `Db.query`), so a try that runs out also gives its pooled connection back
// instead of holding it into the next try. Every try is a
// latency sample of the database's health (origin/db.ts feeds it), a timed-out try at its timeout.
// Not retried: a permanent SQLSTATE (isPermanentDbError: the statement or its data was refused; no retry
// can fix that), thrown as-is. Exhausted tries reject with shared/retry.ts RetryExhaustedError (cause:
// the last error).

/** Whether a failed DB call is worth another try: anything but a permanent SQLSTATE (or an open breaker). */
export const retryableDbError = (e: unknown): boolean => !isPermanentDbError(e) && defaultRetryable(e);

const READ_RETRYING = Symbol.for("fyp.db.readRetrying");

/**
 * A view of `db` for read paths: each `query(sql, params, timeoutMs?)` runs under the DB read row
 * (`policy`, default this isolate's: 3 retries, 10/50/200 ms ±20%, 100 ms per try). The per-try timeout
 * is the row's unless the statement names its own (`timeoutMs`: the cached aggregates, e.g. regional
 * trending's 2 s, keep the budget their author sized them with and get the row's retries and backoff).
 * Wrapping a view again returns it unchanged (no retries of retries). Only for reads: a write must not be
 * repeated under the read row (use dbWrite). `probe` and `end` pass through untouched.
 */
export function readRetrying(db: Db, policy?: RetryPolicy): Db {
  if ((db as { [READ_RETRYING]?: true })[READ_RETRYING]) return db;
  const view: Db & { [READ_RETRYING]: true } = {
    [READ_RETRYING]: true,
    query<T>(sql: string, params?: unknown[], timeoutMs?: number): Promise<T[]> {
      const row = policy ?? isolateRetry().dbRead;
      const p = timeoutMs === undefined ? row : { ...row, perTryTimeoutMs: timeoutMs };
      return retryPolicy(p, { retryable: retryableDbError }).execute(() => db.query<T>(sql, params, p.perTryTimeoutMs));
    },
    probe: (timeoutMs) => db.probe(timeoutMs),
    end: () => db.end(),
  };
  return view;
}

/**
 * Runs the write `f(timeoutMs)` under the DB write row (`policy`, default this isolate's: 3 retries,
 * 100/500/2000 ms ±30%, 5 s per try); `f` gets the per-try timeout (ms) for its statement and must be
 * idempotent (ON CONFLICT DO NOTHING), since a try that timed out may still have committed.
 */
export function dbWrite<T>(f: (timeoutMs: number) => Promise<T>, policy?: RetryPolicy): Promise<T> {
  const p = policy ?? isolateRetry().dbWrite;
  return retryPolicy(p, { retryable: retryableDbError }).execute(() => f(p.perTryTimeoutMs));
}
