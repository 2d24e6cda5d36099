// The origin's SqlClient shape (origin/timeline/postgres.ts) over node-postgres, for Node callers of the
// Postgres timeline adapter: the contract tests, the size bench, operator scripts. Each query carries a
// client-side timeout (pg's query_timeout): on expiry the query rejects and its connection is discarded.
import pg from "pg";
import type { SqlClient } from "../../origin/timeline/postgres.ts";

export interface PgSqlClient extends SqlClient {
  pool: pg.Pool;
  end(): Promise<void>;
}

/** A pooled SqlClient for `connectionString`; default per-query timeout 5000 ms. */
export function pgSqlClient(connectionString: string, max = 4, defaultTimeoutMs = 5000): PgSqlClient {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5000 });
  pool.on("error", () => {}); // an idle client dropped by the server must not crash the process
  return {
    pool,
    async query<T>(text: string, values: unknown[] = [], timeoutMs = defaultTimeoutMs): Promise<T[]> {
      const r = await pool.query({ text, values, query_timeout: timeoutMs } as pg.QueryConfig);
      return r.rows as T[];
    },
    end: () => pool.end(),
  };
}
