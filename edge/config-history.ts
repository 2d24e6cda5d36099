import type { KVNamespace } from "@cloudflare/workers-types";
import type { ForcedLevels } from "./forced-levels.ts";

// Versioned history of the admin-controlled runtime config (forced degradation levels, failover timing
// overrides): every change appends a full snapshot, the newest 100 are kept, and any kept version can be
// rolled back to. Admin changes are rare and come from operators, so a read-modify-write of one KV
// document is enough (KV has no compare-and-set; two simultaneous admin writes could drop one entry).
export interface ConfigSnapshot {
  forced_levels: ForcedLevels;
  health_timings: Record<string, number> | null;
}
export interface ConfigVersion {
  version: number;
  at: string;
  change: string;
  config: ConfigSnapshot;
}

const KEY = "config:history";
export const KEEP_VERSIONS = 100;

export async function configHistory(kv: KVNamespace): Promise<ConfigVersion[]> {
  return (await kv.get<ConfigVersion[]>(KEY, "json")) ?? [];
}

export async function recordConfig(kv: KVNamespace, change: string, patch: Partial<ConfigSnapshot>): Promise<ConfigVersion> {
  const all = await configHistory(kv);
  const last = all[all.length - 1];
  const base: ConfigSnapshot = last?.config ?? { forced_levels: {}, health_timings: null };
  const entry: ConfigVersion = { version: (last?.version ?? 0) + 1, at: new Date().toISOString(), change, config: { ...base, ...patch } };
  const kept = [...all, entry].slice(-KEEP_VERSIONS);
  await kv.put(KEY, JSON.stringify(kept));
  return entry;
}
