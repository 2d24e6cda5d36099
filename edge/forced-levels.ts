import type { KVNamespace } from "@cloudflare/workers-types";
import { isDegradationLevel, levelPolicy, type LevelPolicy } from "../shared/degradation.ts";
import type { Region } from "../shared/regions.ts";

// Degradation levels forced by an admin, per region (null = automatic). Levels 4–5 act at the edge
// (routing / emergency page); 1–3 are also forwarded to that region's origin, which acts on them.
export type ForcedLevels = Partial<Record<Region, number>>;
const KEY = "admin:forced-levels";

let memo: { at: number; v: ForcedLevels } | null = null;
const MEMO_MS = 1000;

export async function getForcedLevels(kv: KVNamespace): Promise<ForcedLevels> {
  if (memo && Date.now() - memo.at < MEMO_MS) return memo.v;
  const v = (await kv.get<ForcedLevels>(KEY, "json")) ?? {};
  memo = { at: Date.now(), v };
  return v;
}

/**
 * The policy row of the level forced on `region`; level 0's row when none is forced (or the stored value
 * is not a level). The edge's routing and write gates read its fields (originServes, writesAllowed,
 * staticEmergencyPage) instead of comparing level numbers.
 */
export function forcedPolicy(forced: ForcedLevels, region: Region): Readonly<LevelPolicy> {
  const v = forced[region];
  return levelPolicy(isDegradationLevel(v) ? v : 0);
}

export async function setForcedLevel(kv: KVNamespace, region: Region, level: number | null): Promise<ForcedLevels> {
  const cur = { ...(await kv.get<ForcedLevels>(KEY, "json")) };
  if (level === null) delete cur[region];
  else cur[region] = level;
  await kv.put(KEY, JSON.stringify(cur));
  memo = { at: Date.now(), v: cur };
  return cur;
}

/** Replace the whole map (config rollback). */
export async function setForcedLevels(kv: KVNamespace, levels: ForcedLevels): Promise<ForcedLevels> {
  await kv.put(KEY, JSON.stringify(levels));
  memo = { at: Date.now(), v: levels };
  return levels;
}
