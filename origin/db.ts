import { Pool, neonConfig, type PoolClient } from "@neondatabase/serverless";
import { configureNeonForLocalProxy } from "../shared/db/neon-local.ts";
import { dbFault } from "./db-fault.ts";
import type { DependencyHealth } from "./dependency-health.ts";
import type { OriginConfig } from "./env.ts";

// Postgres through the Neon serverless driver (WebSockets). In Workers a socket cannot outlive the
// request that opened it, so every request gets its own small pool, ended via waitUntil.

let proxyApplied: string | null = null;
function applyLocalProxy(proxy: string | undefined): void {
  if (!proxy || proxyApplied === proxy) return;
  configureNeonForLocalProxy(neonConfig, proxy);
  proxyApplied = proxy;
}

export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], timeoutMs?: number): Promise<T[]>;
  /** `SELECT 1`: a latency sample (with every other query) and how a database we stopped calling is seen back. */
  probe(timeoutMs?: number): Promise<void>;
  end(): Promise<void>;
}

export class DbTimeoutError extends Error {}

/** A SQLSTATE the server raised about the query itself (not connection/shutdown/resource classes). */
function isQueryError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !/^(08|53|57|58)/.test(code);
}

/**
 * A SQLSTATE that no retry can fix: the data or the statement itself was refused (class 22 data
 * exception such as "date/time field value out of range", 23 integrity violation, 42 syntax/access
 * rule, 2B/2F/XX…: Postgres appendix A). Connection, resource, shutdown and transaction-rollback classes
 * (08, 53, 57, 58, 40) are transient and stay retryable.
 */
export function isPermanentDbError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && /^(22|23|42|2F|39|P0)/.test(code);
}

export function openDb(cfg: OriginConfig, health?: DependencyHealth, maxConnections = 3): Db {
  applyLocalProxy(cfg.NEON_WS_PROXY);
  const pool = new Pool({ connectionString: cfg.DATABASE_URL, max: maxConnections, connectionTimeoutMillis: 2000 });
  pool.on("error", () => {}); // a dropped idle socket must not crash the isolate
  return {
    probe(timeoutMs = 500) {
      return this.query("SELECT 1", [], timeoutMs).then(() => {});
    },
    async query<T>(sql: string, params: unknown[] = [], timeoutMs = 2000): Promise<T[]> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DbTimeoutError(`db query timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      let client: PoolClient | null = null;
      let connecting: Promise<PoolClient> | undefined;
      const started = performance.now();
      try {
        // Connection set-up (a WebSocket + auth per request in Workers) is not query latency: a query that
        // succeeds feeds the "database latency > 100 ms" signal with its own round trip only (probes and
        // real queries alike: origin/signals.ts). A failure counts as all the time it cost (a timeout as
        // its timeout: a slow answer, not a step toward "down").
        const c = (client = await Promise.race([(connecting = pool.connect()), timeout]));
        const t0 = performance.now();
        const delay = dbFault.delayMs; // fault hook (origin/db-fault.ts): 0 unless an operator set it
        const query = () => (client ? c.query(sql, params) : Promise.reject(new DbTimeoutError("timed out in the fault delay")));
        const run = delay > 0 ? new Promise((r) => setTimeout(r, delay)).then(query) : c.query(sql, params);
        const res = await Promise.race([run, timeout]);
        health?.ok(performance.now() - t0);
        return res.rows as T[];
      } catch (e) {
        // Only infrastructure trouble counts against the database, not a query the database rejected.
        if (!isQueryError(e)) health?.fail(e, performance.now() - started, e instanceof DbTimeoutError);
        throw e;
      } finally {
        clearTimeout(timer);
        // A connect that lost the race to the timeout gives its client back when it arrives: kept, it would
        // hold a pool slot for good (the next try waits for a free one) and pool.end() would never resolve.
        if (!client) connecting?.then((late) => late.release(), () => {});
        client?.release();
        client = null; // a fault-delayed query that lost the race must not run on the released client
      }
    },
    end: () => pool.end().catch(() => {}),
  };
}
