import { REGION_VALUES, type Region } from "../shared/regions.ts";
import { checksumMismatches, type GlobalChecksums } from "../shared/replication-checksums.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { callOrigin } from "./origin-client.ts";
import type { SyncVerdict } from "./region-health-machine.ts";
import type { ReplicationPair } from "./replication-status.ts";

// Replication checks of the failover procedure (issue 14 item 2):
//  - step 6 (traffic moves to other regions): warn when a flow's lag is over REPLICATION_LAG_WARN_S
//    (default 60 s): the regions taking over serve a catalogue that far behind. Shown in /v1/status
//    (replication.warnings) and so on the ops page.
//  - step 8 (before a region is re-added): verify that the global tables agree — for every owner, the
//    owner's row count and checksum equal every other region's (origin/replication/checksums.ts).
//    Mismatches involving the region block the restore (409) unless forced; a check that could not run
//    (an origin unreachable) is reported, not treated as a mismatch.
//  - step 8 for the automatic re-add (RegionHealth, edge/region-health.ts): `syncVerdicts` judges each
//    region whose probe succeeded while removed, against the regions that answered.
export const DEFAULT_LAG_WARN_S = 60;
const CHECKSUM_TIMEOUT_MS = 10_000;

export function lagWarnS(env: EdgeBindings): number {
  const n = Number(env.REPLICATION_LAG_WARN_S ?? DEFAULT_LAG_WARN_S);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_LAG_WARN_S;
}

/** Flows whose lag is over the bound, as human-readable warnings. */
export function lagWarnings(pairs: ReplicationPair[], boundS: number): string[] {
  return pairs.filter((p) => p.lag_s !== null && p.lag_s > boundS).map((p) => `replication ${p.from} → ${p.to} lags ${p.lag_s!.toFixed(1)} s (bound ${boundS} s)`);
}

export interface SyncCheck {
  verified: boolean;
  in_sync: boolean;
  mismatches: { table: string; owner: string; region: string }[];
  error?: string;
}

/** Step 8: do the global tables of `region` and the other two agree? */
export async function verifyRegionSync(env: EdgeBindings, region: Region): Promise<SyncCheck> {
  const cfg = edgeConfig(env);
  const policy = { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: CHECKSUM_TIMEOUT_MS };
  try {
    const sums = Object.fromEntries(
      await Promise.all(
        REGION_VALUES.map(async (r) => {
          const res = await callOrigin(cfg, r, "/internal/v1/replication/checksums", {}, policy);
          if (!res.ok) throw new Error(`origin ${r} answered ${res.status}`);
          return [r, ((await res.json()) as { tables: GlobalChecksums }).tables] as const;
        }),
      ),
    );
    const mismatches = checksumMismatches(sums).filter((m) => m.region === region || m.owner === region);
    return { verified: true, in_sync: mismatches.length === 0, mismatches };
  } catch (e) {
    return { verified: false, in_sync: false, mismatches: [], error: (e as Error).message };
  }
}

/**
 * Step 8 for the automatic re-add: one checksum read of every origin (allSettled, `timeoutMs` each, no
 * retry), then a verdict per region in `regions`:
 *  - its own checksums could not be read → not in sync (its database may be what failed);
 *  - no other region answered → in sync, "unverified" (nothing to compare with; keeping the only region
 *    left out would leave every reader on the emergency page);
 *  - else in sync iff no table/owner involving it differs among the regions that answered.
 */
export async function syncVerdicts(env: EdgeBindings, regions: Region[], timeoutMs: number): Promise<Map<Region, SyncVerdict>> {
  const out = new Map<Region, SyncVerdict>();
  if (!regions.length) return out;
  const cfg = edgeConfig(env);
  const policy = { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: Math.min(timeoutMs, CHECKSUM_TIMEOUT_MS) };
  const read = await Promise.allSettled(
    REGION_VALUES.map(async (r) => {
      const res = await callOrigin(cfg, r, "/internal/v1/replication/checksums", {}, policy);
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`origin ${r} answered ${res.status}`);
      }
      return ((await res.json()) as { tables: GlobalChecksums }).tables;
    }),
  );
  const sums: Record<string, GlobalChecksums> = {};
  REGION_VALUES.forEach((r, i) => {
    const x = read[i];
    if (x.status === "fulfilled") sums[r] = x.value;
  });
  const mismatches = checksumMismatches(sums);
  for (const region of regions) {
    const i = REGION_VALUES.indexOf(region);
    const own = read[i];
    if (own.status === "rejected") {
      out.set(region, { in_sync: false, detail: `checksums of ${region} unavailable: ${(own.reason as Error).message}` });
      continue;
    }
    const peers = REGION_VALUES.filter((r) => r !== region && sums[r]);
    if (!peers.length) {
      out.set(region, { in_sync: true, detail: "unverified: no other region answered" });
      continue;
    }
    const mine = mismatches.filter((m) => m.region === region || m.owner === region);
    out.set(region, mine.length
      ? { in_sync: false, detail: mine.map((m) => `${m.table}/${m.owner}@${m.region}`).join(", ") }
      : { in_sync: true, detail: `in sync with ${peers.join(", ")}` });
  }
  return out;
}
