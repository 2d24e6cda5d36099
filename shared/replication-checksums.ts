// Comparison of the global tables' checksums between regions (origin/replication/checksums.ts computes
// them per region; the edge compares them before a region is re-added). Units: rows, hash sum (string:
// a bigint sum of 32-bit row hashes).
export interface TableChecksum {
  rows: number;
  sum: string;
}
export type GlobalChecksums = Record<string, Record<string, TableChecksum>>;

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
