import pg from "pg";
import { LOCAL_PG, regionDatabase, type Region } from "../../../shared/local-ports.ts";

// Direct Postgres access for end-to-end assertions (what really landed in which region's database).
export async function withRegionDb<T>(pgPort: number, region: Region, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: "127.0.0.1", port: pgPort, database: regionDatabase(region), ...LOCAL_PG });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** A user living in `region` (optionally one who follows someone). */
export async function residentUser(pgPort: number, region: Region, offset = 0): Promise<string> {
  return withRegionDb(pgPort, region, async (c) => {
    const r = await c.query(
      `SELECT u.user_id FROM users u WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = u.user_id)
       ORDER BY u.user_id LIMIT 1 OFFSET $1`,
      [offset],
    );
    return `u${r.rows[0].user_id}`;
  });
}

export async function countByKeys(pgPort: number, region: Region, keys: string[]): Promise<Map<string, number>> {
  return withRegionDb(pgPort, region, async (c) => {
    const r = await c.query(`SELECT idempotency_key, count(*)::int AS n FROM interactions WHERE idempotency_key = ANY($1) GROUP BY 1`, [keys]);
    return new Map(r.rows.map((x) => [x.idempotency_key as string, x.n as number]));
  });
}

export async function waitFor<T>(f: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
