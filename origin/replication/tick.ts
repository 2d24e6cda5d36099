import type { Redis } from "@upstash/redis/cloudflare";
import type { Region } from "../../shared/regions.ts";
import type { Db } from "../db.ts";
import { flushCounters } from "../counter-flush.ts";
import { forgetVideos } from "../feature-store.ts";
import type { Metrics } from "../metrics.ts";
import { REPLICAS, replicaKey } from "../hot-replicas.ts";
import { type LagBySource, lagsFromRows, READ_HEARTBEATS_SQL, type HeartbeatRow, WRITE_HEARTBEAT_SQL } from "./lag.ts";

// The origin's share of catalogue replication, run after each health probe (the edge's RegionHealth
// probes every origin every HEALTH_PROBE_INTERVAL_MS, 10 s in production) and on GET
// /internal/v1/replication:
//  1. write this region's heartbeat (it replicates to the other two);
//  2. read the heartbeats that arrived from the others → lag per flow → `fyp_replication_lag_seconds
//     {from,to}` on /metrics;
//  3. flush this region's live view/like increments from Redis into its CRDT counter row
//     (origin/counter-flush.ts; also the Cron trigger's job, but that runs once a minute): the other
//     regions' stats then show them one probe interval + the replication lag later;
//  4. drop cached features of videos that replication (or a local edit/flush) changed: ids queued in
//     video_cache_dirty by the triggers of shared/db/replication-schema.ts.
// Failure semantics: every query has a short timeout; a failed tick leaves the previous lag in place
// (marked by `measured_at`) and is retried on the next probe. Throttled per isolate (MIN_INTERVAL_MS).

export const MIN_INTERVAL_MS = 1000;
const QUERY_TIMEOUT_MS = 1000;
const DIRTY_BATCH = 500;

export interface ReplicationSnapshot {
  region: Region;
  /** Lag in seconds of each flow into this region (null: no heartbeat from that region yet). */
  lag_s: LagBySource;
  heartbeat_period_ms: number;
  measured_at: string | null;
  error: string | null;
  /** Videos whose cached features were dropped by this isolate since it started. */
  invalidated: number;
}

let last: ReplicationSnapshot | null = null;
let lastRunAt = 0;
let running: Promise<ReplicationSnapshot> | null = null;
let invalidated = 0;

export interface TickDeps {
  db: Db;
  redis: Redis;
  metrics: Metrics;
  region: Region;
  heartbeatPeriodMs: number;
}

/** The latest snapshot of this isolate (null before the first tick). */
export const lastReplicationSnapshot = () => last;

/**
 * One tick, at most once per MIN_INTERVAL_MS per isolate unless `force`; concurrent callers share the
 * run in flight. Never rejects.
 */
export function replicationTick(d: TickDeps, force = false, now = Date.now()): Promise<ReplicationSnapshot> {
  if (running) return running;
  if (!force && last && now - lastRunAt < MIN_INTERVAL_MS) return Promise.resolve(last);
  lastRunAt = now;
  running = runTick(d).finally(() => (running = null));
  return running;
}

async function runTick(d: TickDeps): Promise<ReplicationSnapshot> {
  const base: ReplicationSnapshot = last ?? { region: d.region, lag_s: {}, heartbeat_period_ms: d.heartbeatPeriodMs, measured_at: null, error: null, invalidated };
  try {
    await d.db.query(WRITE_HEARTBEAT_SQL, [d.region], QUERY_TIMEOUT_MS);
    const rows = await d.db.query<HeartbeatRow>(READ_HEARTBEATS_SQL, [], QUERY_TIMEOUT_MS);
    const lag = lagsFromRows(d.region, rows, d.heartbeatPeriodMs);
    const gauge = d.metrics.registry.gauge("fyp_replication_lag_seconds", "Catalogue replication lag per flow (from region → to region), seconds");
    for (const [from, v] of Object.entries(lag)) if (v !== null && v !== undefined) gauge.set({ from, to: d.region }, v);
    // A failed flush puts its deltas back (counter-flush.ts) and must not cost the lag measurement.
    await flushCounters(d.db, d.redis, d.region).catch((e: Error) => console.warn(`counter flush in tick failed: ${e.message}`));
    await drainDirty(d);
    last = { region: d.region, lag_s: lag, heartbeat_period_ms: d.heartbeatPeriodMs, measured_at: new Date().toISOString(), error: null, invalidated };
  } catch (e) {
    last = { ...base, error: (e as Error).message, invalidated };
  }
  return last;
}

async function drainDirty(d: TickDeps): Promise<void> {
  const rows = await d.db.query<{ video_id: string }>(
    `DELETE FROM video_cache_dirty WHERE video_id IN (SELECT video_id FROM video_cache_dirty ORDER BY marked_at LIMIT ${DIRTY_BATCH}) RETURNING video_id`,
    [], QUERY_TIMEOUT_MS,
  );
  if (!rows.length) return;
  const ids = rows.map((r) => String(r.video_id));
  await invalidateVideo(d.redis, ids);
  invalidated += ids.length;
}

/** Drop every cached copy of these videos at this origin: features (memo + Redis) and hot replicas. */
export async function invalidateVideo(redis: Redis, ids: string[]): Promise<void> {
  await forgetVideos(redis, ids);
  const hotKeys = ids.flatMap((id) => Array.from({ length: REPLICAS }, (_, i) => replicaKey(`video:${id}`, i)));
  if (hotKeys.length) await redis.del(...hotKeys).catch(() => 0);
}
