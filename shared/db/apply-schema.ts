// Applying the schema (shared/db/schema.ts) to a region's database that may be serving traffic.
//
// The statements are idempotent (IF NOT EXISTS, guarded migrations), but idempotent is not harmless on a
// live database: `ALTER TABLE … IF EXISTS`, `ADD COLUMN IF NOT EXISTS` and `CREATE INDEX IF NOT EXISTS`
// take their table's lock (ACCESS EXCLUSIVE or SHARE) before they find there is nothing to do. Run as one
// transaction while origins write events, that lock order meets the writers' and Postgres aborts one
// side with a deadlock (40P01): seen when Postgres came back from a crash under the chaos suite's load.
//
// So: the schema's fingerprint (SHA-256 of its statements) is stored in `schema_meta`; a database that
// already has this fingerprint is left alone (one SELECT, no lock a writer can meet). A changed schema is
// applied in one transaction with a lock timeout, and a deadlock or lock timeout rolls it back and tries
// again after a backoff; any other error is thrown as is.

import { schemaStatements } from "./schema.ts";

/** The one call this needs: pg.Client's `query` (simple protocol, multi-statement strings allowed). */
export interface SchemaConnection {
  query(text: string): Promise<unknown>;
}

export interface ApplySchemaOptions {
  /** Statements to apply; default the whole schema (schemaStatements()). */
  statements?: string[];
  /** Per-lock wait inside the migration, ms (Postgres `lock_timeout`); default 2,000. */
  lockTimeoutMs?: number;
  /** Tries before giving up on deadlocks / lock timeouts; default 8. */
  attempts?: number;
  /** First backoff between tries, ms, doubled each try up to 4 s; default 250. */
  backoffMs?: number;
}

export interface ApplySchemaResult {
  /** false: the database already had this schema's fingerprint and nothing was run. */
  applied: boolean;
  /** Transactions started (0 when not applied; >1 after deadlocks or lock timeouts). */
  attempts: number;
  fingerprint: string;
}

export const SCHEMA_META_DDL = `CREATE TABLE IF NOT EXISTS schema_meta (
  id          smallint    PRIMARY KEY CHECK (id = 1),
  fingerprint text        NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
)`;

/** SQLSTATEs worth another try: deadlock_detected, lock_not_available (lock_timeout). */
const RETRYABLE = new Set(["40P01", "55P03"]);

/** Hex SHA-256 of the statements, joined as they are run (Web Crypto: Node and workerd alike). */
export async function schemaFingerprint(statements: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(statements.join(";\n")));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function storedFingerprint(c: SchemaConnection): Promise<string | null> {
  try {
    const res = (await c.query("SELECT fingerprint FROM schema_meta WHERE id = 1")) as { rows: { fingerprint: string }[] };
    return res.rows[0]?.fingerprint ?? null;
  } catch (e) {
    if ((e as { code?: string }).code === "42P01") return null; // undefined_table: never applied here
    throw e;
  }
}

/**
 * Bring the connected database to the schema: a no-op when `schema_meta` holds the statements'
 * fingerprint, else the statements, `schema_meta` and the new fingerprint in one transaction with
 * `lock_timeout` = lockTimeoutMs, retried with doubling backoff on 40P01 / 55P03 up to `attempts` times.
 * Throws the last such error after that, and any other error at once (the transaction rolled back).
 */
export async function applySchema(c: SchemaConnection, opts: ApplySchemaOptions = {}): Promise<ApplySchemaResult> {
  const statements = opts.statements ?? schemaStatements();
  const fingerprint = await schemaFingerprint(statements);
  if ((await storedFingerprint(c)) === fingerprint) return { applied: false, attempts: 0, fingerprint };
  const maxAttempts = opts.attempts ?? 8;
  const lockTimeout = Math.max(1, Math.round(opts.lockTimeoutMs ?? 2_000));
  let backoff = opts.backoffMs ?? 250;
  const script = [
    "BEGIN",
    `SET LOCAL lock_timeout = ${lockTimeout}`,
    ...statements,
    SCHEMA_META_DDL,
    // The fingerprint is hex, so it is safe inline (the simple protocol takes no parameters).
    `INSERT INTO schema_meta (id, fingerprint) VALUES (1, '${fingerprint}')
       ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, applied_at = now()`,
    "COMMIT",
  ].join(";\n");
  for (let attempt = 1; ; attempt++) {
    try {
      await c.query(script);
      return { applied: true, attempts: attempt, fingerprint };
    } catch (e) {
      // The failed statement left the explicit transaction aborted: end it before anything else.
      await c.query("ROLLBACK").catch(() => {});
      if (!RETRYABLE.has((e as { code?: string }).code ?? "") || attempt >= maxAttempts) throw e;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 4_000);
    }
  }
}
