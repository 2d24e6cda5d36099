import type { Redis } from "@upstash/redis/cloudflare";
import type { Db } from "../../origin/db.ts";

// Dependencies that fail on purpose, for the per-call-site retry tests (issue 12 item 5): a Postgres behind
// our own `Db` interface (origin/db.ts) that records every try (statement, params, the timeout it was
// given, when it started), and an "unreachable" Redis. Test-only: product code never imports this.

export interface Try {
  sql: string;
  params: unknown[];
  timeoutMs: number | undefined;
  /** performance.now() at the try's start (ms). */
  at: number;
}

/** How a scripted Db answers one try: rows, an error to throw, or "hang" (never settles). */
export type Answer = unknown[] | Error | "hang";

/** An error shaped like a Postgres error with a SQLSTATE (what isPermanentDbError reads). */
export function pgError(code: string, message = `SQLSTATE ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A Db whose every query asks `answer(sql, params, n)` (n: 1-based try count of that statement so far);
 * default: every try fails with a connection error. `tries` records every call.
 */
export function scriptedDb(answer: (sql: string, params: unknown[], n: number) => Answer = () => new Error("connection refused")): Db & {
  tries: Try[];
  triesOf(fragment: string): Try[];
} {
  const tries: Try[] = [];
  const count = new Map<string, number>();
  return {
    tries,
    triesOf: (fragment) => tries.filter((t) => t.sql.includes(fragment)),
    async query<T>(sql: string, params: unknown[] = [], timeoutMs?: number): Promise<T[]> {
      tries.push({ sql, params, timeoutMs, at: performance.now() });
      const n = (count.get(sql) ?? 0) + 1;
      count.set(sql, n);
      const a = answer(sql, params, n);
      if (a === "hang") return new Promise<never>(() => {});
      if (a instanceof Error) throw a;
      return a as T[];
    },
    probe: async () => {},
    end: async () => {},
  };
}

/**
 * A Redis (the upstash client's shape) whose commands are answered by `answer(command, n)`: a value, an
 * Error to reject with, or "hang". Counts calls per command name. Default: unreachable (every call rejects).
 */
export function scriptedRedis(answer: (cmd: string, n: number) => unknown = () => new Error("redis unreachable")): Redis & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const handler: ProxyHandler<object> = {
    get(_t, prop) {
      if (prop === "calls") return calls;
      if (prop === "then") return undefined;
      const cmd = String(prop);
      if (cmd === "pipeline") return () => ({ set: () => {}, exec: async () => [] });
      return (..._args: unknown[]) => {
        const n = (calls[cmd] = (calls[cmd] ?? 0) + 1);
        const a = answer(cmd, n);
        if (a === "hang") return new Promise<never>(() => {});
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
      };
    },
  };
  return new Proxy({}, handler) as Redis & { calls: Record<string, number> };
}
