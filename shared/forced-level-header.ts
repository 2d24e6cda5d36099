// The admin-forced degradation level travels from the edge (which keeps it in KV) to the origin on every
// feed read, so all isolates of a region's origin act on it, not only the one that received the admin
// call. Levels 0–3 are the origin's (0 = forced normal); 4–5 act at the edge, so the origin runs
// automatically for them.
import { isDegradationLevel, levelPolicy } from "./degradation.ts";

export const FORCED_LEVEL_HEADER = "x-fyp-forced-level";

export type OriginForcedLevel = 0 | 1 | 2 | 3 | null;

/** Header value for a region's forced level: "0".."3", or "none" (automatic). */
export function forcedOriginLevel(level: number | undefined): string {
  return isDegradationLevel(level) && levelPolicy(level).originServes ? String(level) : "none";
}

/** Header → forced level; undefined when absent or malformed (the origin then keeps its own setting). */
export function parseForcedLevelHeader(v: string | undefined): OriginForcedLevel | undefined {
  if (v === "none") return null;
  if (v === "0" || v === "1" || v === "2" || v === "3") return Number(v) as 0 | 1 | 2 | 3;
  return undefined;
}
