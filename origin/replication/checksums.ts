import type { Db } from "../db.ts";
import type { GlobalChecksums } from "../../shared/replication-checksums.ts";

// Sync check of the global tables (recovery step 8: verify before a region is re-added): for each table
// and each owner region, the row count and an order-independent checksum (sum of a 32-bit hash of each
// row's replicated columns). Two regions agree on an owner's rows exactly when both numbers match, so the
// check compares the owner's figures with every subscriber's (shared/replication-checksums.ts).

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
