import type { Context } from "hono";
import { REGION_VALUES, type Region } from "../shared/regions.ts";
import type { EdgeEnv } from "./app-env.ts";
import { edgeConfig } from "./env.ts";
import { callOrigin } from "./origin-client.ts";

// Catalogue replication lag for /v1/status and the ops page: each origin reports the lag of the two
// flows into its region (GET /internal/v1/replication, origin/replication/tick.ts); here they become one
// list of (from, to, lag_s) pairs. Short timeout, no retry: status must answer while regions are down
// (a pair whose subscriber is unreachable shows lag_s null with the error).
const TIMEOUT_MS = 800;
const noRetry = { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: TIMEOUT_MS };

export interface ReplicationPair {
  from: Region;
  to: Region;
  /** Seconds; null when the subscriber could not be asked or has no heartbeat from `from` yet. */
  lag_s: number | null;
}
export interface ReplicationStatus {
  byRegion: Record<Region, Record<string, unknown>>;
  pairs: ReplicationPair[];
  max_lag_s: number | null;
}

export async function replicationStatus(c: Context<EdgeEnv>): Promise<ReplicationStatus> {
  const cfg = edgeConfig(c.env);
  const entries = await Promise.all(
    REGION_VALUES.map(async (r) => {
      try {
        const res = await callOrigin(cfg, r, "/internal/v1/replication", { headers: { "x-request-id": c.get("requestId") } }, noRetry);
        return [r, res.ok ? ((await res.json()) as Record<string, unknown>) : { error: `origin answered ${res.status}` }] as const;
      } catch (e) {
        return [r, { error: (e as Error).message }] as const;
      }
    }),
  );
  const byRegion = Object.fromEntries(entries) as Record<Region, Record<string, unknown>>;
  const pairs: ReplicationPair[] = [];
  for (const to of REGION_VALUES) {
    const lag = (byRegion[to].lag_s ?? {}) as Partial<Record<Region, number | null>>;
    for (const from of REGION_VALUES) if (from !== to) pairs.push({ from, to, lag_s: typeof lag[from] === "number" ? lag[from]! : null });
  }
  const known = pairs.map((p) => p.lag_s).filter((x): x is number => x !== null);
  return { byRegion, pairs, max_lag_s: known.length ? Math.max(...known) : null };
}
