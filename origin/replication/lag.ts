import { REGION_VALUES, type Region } from "../../shared/regions.ts";

// Replication lag per flow (from → this region), measured with a heartbeat row per region
// (shared/db/replication-schema.ts): each region stamps its own row with its clock (`ts`); the row
// replicates, and the subscriber stamps `applied_at` with its clock when the apply worker writes it.
//
//   lag(from → here) = max(applied_at − ts,           how long the newest heartbeat took to arrive
//                          now − ts − period)         how overdue the next one is (a cut flow grows
//                                                     linearly instead of showing its last transit time)
//
// `period` is the heartbeat period the publisher keeps (REPLICATION_HEARTBEAT_MS, default 10 s = the edge's
// health-probe cadence, which drives the writes). Units: seconds; null = no heartbeat from that region yet.

export interface HeartbeatRow {
  region: Region;
  ts: Date | string;
  applied_at: Date | string;
  now: Date | string;
}

/** Lag of one flow in seconds (≥ 0), from a heartbeat row read at the subscriber. */
export function lagSeconds(row: HeartbeatRow, periodMs: number): number {
  const ts = new Date(row.ts).getTime(), applied = new Date(row.applied_at).getTime(), now = new Date(row.now).getTime();
  return Math.max(0, applied - ts, now - ts - periodMs) / 1000;
}

export type LagBySource = Partial<Record<Region, number | null>>;

/** Lags into `self` from every other region (null where no heartbeat arrived yet). */
export function lagsFromRows(self: Region, rows: HeartbeatRow[], periodMs: number): LagBySource {
  const out: LagBySource = {};
  for (const r of REGION_VALUES) if (r !== self) out[r] = null;
  for (const row of rows) if (row.region !== self && row.region in out) out[row.region] = Math.round(lagSeconds(row, periodMs) * 1000) / 1000;
  return out;
}

export const WRITE_HEARTBEAT_SQL = `INSERT INTO replication_heartbeat (region, ts, applied_at) VALUES ($1, clock_timestamp(), clock_timestamp())
  ON CONFLICT (region) DO UPDATE SET ts = excluded.ts, applied_at = excluded.applied_at`;
export const READ_HEARTBEATS_SQL = `SELECT region, ts, applied_at, clock_timestamp() AS now FROM replication_heartbeat`;
