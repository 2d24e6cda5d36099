// Per-isolate edge cache counters, reported by /v1/status (hit rates are measured, not assumed).
export const edgeStats = {
  hit: 0,
  miss: 0,
  stale: 0,
  coalesced: 0,
  bypass: 0,
  originErrors: 0,
  fallbacks: 0,
  rateLimited: 0,
};
export type CacheResult = "HIT" | "MISS" | "STALE" | "COALESCED" | "BYPASS";

export function countResult(r: CacheResult): void {
  if (r === "HIT") edgeStats.hit++;
  else if (r === "MISS") edgeStats.miss++;
  else if (r === "STALE") edgeStats.stale++;
  else if (r === "COALESCED") edgeStats.coalesced++;
  else edgeStats.bypass++;
}
