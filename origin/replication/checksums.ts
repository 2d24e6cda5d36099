import type { Db } from "../db.ts";

// Sync check of the global tables (recovery step 8: verify before a region is re-added): for each table
// and each owner region, the row count and an order-independent checksum (sum of a 32-bit hash of each
// row's replicated columns). Two regions agree on an owner's rows exactly when both numbers match, so the
// check compares the owner's figures with every subscriber's. Units: rows, hash sum (string: bigint).

export interface TableChecksum {
  rows: number;
  sum: string;
}
export type GlobalChecksums = Record<string, Record<string, TableChecksum>>;

const ROW_TEXT: Record<string, { owner: string; text: string }> = {
  videos: { owner: "upload_region", text: "video_id::text || '|' || author_id || '|' || caption || '|' || duration_ms || '|' || topic || '|' || status || '|' || updated_at::text || '|' || updated_region" },
  video_counters: { owner: "region", text: "video_id::text || '|' || views || '|' || likes_added || '|' || likes_removed" },
  creator_profiles: { owner: "home_region", text: "user_id::text || '|' || handle" },
};

export async function globalChecksums(db: Db, timeoutMs = 10_000): Promise<GlobalChecksums> {
  const out: GlobalChecksums = {};
  for (const [table, { owner, text }] of Object.entries(ROW_TEXT)) {
    const rows = await db.query<{ owner: string; n: string; sum: string }>(
      `SELECT ${owner} AS owner, count(*)::text AS n, coalesce(sum(hashtext(${text})::bigint), 0)::text AS sum FROM ${table} GROUP BY 1`,
      [], timeoutMs,
    );
    out[table] = Object.fromEntries(rows.map((r) => [r.owner, { rows: Number(r.n), sum: r.sum }]));
  }
  return out;
}

/** Owner regions whose rows differ between the owner's own figures and another region's. */
export function checksumMismatches(byRegion: Record<string, GlobalChecksums>): { table: string; owner: string; region: string }[] {
  const out: { table: string; owner: string; region: string }[] = [];
  for (const [owner, mine] of Object.entries(byRegion)) {
    for (const [table, perOwner] of Object.entries(mine)) {
      const want = perOwner[owner] ?? { rows: 0, sum: "0" };
      for (const [region, theirs] of Object.entries(byRegion)) {
        if (region === owner) continue;
        const got = theirs[table]?.[owner] ?? { rows: 0, sum: "0" };
        if (got.rows !== want.rows || got.sum !== want.sum) out.push({ table, owner, region });
      }
    }
  }
  return out;
}
