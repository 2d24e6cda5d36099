// The seed's backup table, per data type: what is copied, how, how often, and how long it is kept.
//
// | kind         | data                                              | how                                   | every      | kept        |
// | videos       | videos, video_counters, creator_profiles, IVF     | consistent COPY snapshot per region   | 1 h        | 90 days     |
// | interactions | interactions, timeline_events, video_likes        | consistent COPY snapshot per region   | 24 h       | 7 days      |
// | user-data    | users, follows (all regions: the whole cluster)   | WAL archiving (continuous) + a base   | WAL: ≤60 s | 30 days     |
// |              |                                                   | backup every 7 days → point in time   | base: 7 d  |             |
// | models       | ranking models (gpu-inference registry)           | the registry keeps versions           | per train  | 30 versions |
// | config       | admin config (edge KV history)                    | KV keeps versions; exported on change | 1 h        | 100 versions|
//
// The schedule and retention values are the production ones; tests pass their own `now`, never sleep.
import { KEEP_VERSIONS as CONFIG_VERSIONS } from "../../edge/config-history.ts";
import { KEEP_VERSIONS as MODEL_VERSIONS } from "../../gpu-inference/registry.ts";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export type SnapshotKind = "videos" | "interactions";
export type BackupKind = SnapshotKind | "user-data" | "models" | "config";
export const BACKUP_KINDS: readonly BackupKind[] = ["videos", "interactions", "user-data", "models", "config"];

/** How a table's rows come back on restore (scripts/backup/table-snapshot.ts). */
export interface TableRule {
  table: string;
  /**
   * "merge": rows missing from the live table are reinstated and, where `overwrite` allows, rows present
   * are set back to the snapshot's values; rows written after the snapshot stay. "replace": the live
   * table becomes exactly the snapshot.
   */
  mode: "merge" | "replace";
  /** merge only: also overwrite existing rows matching this SQL condition on the live row (`t.`). */
  overwriteWhere?: string;
  /** Columns never overwritten (e.g. counters merged as a CRDT elsewhere). */
  keepColumns?: string[];
  /** Columns set to now() when a row is overwritten (a restore is the newest edit under last-writer-wins). */
  touchColumns?: string[];
}

export interface SnapshotSpec {
  kind: SnapshotKind;
  everyMs: number;
  keepMs: number;
  tables: TableRule[];
}

/**
 * Video metadata: a region restores what it is authoritative for. Its own uploads are overwritten with
 * the snapshot and stamped as the newest edit (updated_at = now(), so last-writer-wins and replication
 * carry the restored version to the other regions); other regions' videos and counters are only
 * reinstated when missing (their owners' newer versions keep arriving by replication). View/like totals
 * are merged from video_counters, never overwritten. The IVF centroids are local and replaced.
 */
export const VIDEOS: SnapshotSpec = {
  kind: "videos",
  everyMs: HOUR_MS,
  keepMs: 90 * DAY_MS,
  tables: [
    { table: "videos", mode: "merge", overwriteWhere: "t.upload_region = $region", keepColumns: ["views", "likes", "popularity"], touchColumns: ["updated_at"] },
    { table: "video_counters", mode: "merge" },
    { table: "creator_profiles", mode: "merge" },
    { table: "ivf_centroids", mode: "replace" },
  ],
};

/** Interaction logs merge as a union: restoring brings back lost rows and never drops newer ones. */
export const INTERACTIONS: SnapshotSpec = {
  kind: "interactions",
  everyMs: DAY_MS,
  keepMs: 7 * DAY_MS,
  tables: [
    { table: "interactions", mode: "merge" },
    { table: "timeline_events", mode: "merge" },
    { table: "video_likes", mode: "merge" }, // the users' like state (origin/events-write.ts)
  ],
};

export const SNAPSHOTS: Record<SnapshotKind, SnapshotSpec> = { videos: VIDEOS, interactions: INTERACTIONS };

/** User data: continuous WAL archive, a base backup every 7 days, a 30-day point-in-time window. */
export const USER_DATA = {
  tables: ["users", "follows"],
  baseEveryMs: 7 * DAY_MS,
  keepMs: 30 * DAY_MS,
  /** archive_timeout (s): at most this much committed WAL is not yet archived (the RPO). */
  archiveTimeoutS: 60,
} as const;

export const MODELS = { keepVersions: MODEL_VERSIONS } as const;
export const CONFIG = { keepVersions: CONFIG_VERSIONS, exportEveryMs: HOUR_MS } as const;
