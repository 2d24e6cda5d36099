// TimelineStore on Postgres: table `timeline_events` (shared/db/schema.ts), PARTITION BY HASH (video_id)
// into 16 partitions, primary key (video_id, bucket, ts, event_id). A (video, bucket) is one contiguous
// primary-key range inside one hash partition, the same unit as the Cassandra adapter's partition.
//
// Runs wherever a SQL client with a per-query timeout exists: the origin Worker's Db (Neon serverless
// driver) or a node-postgres pool (tests, scripts). Each call is one statement:
//  - append: INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING (idempotent: the first write of an
//    event identity wins, a re-append is a no-op);
//  - events: a backward primary-key range scan from the cursor, LIMIT n + 1;
//  - counts / top: GROUP BY over the window's buckets (top uses the (region, bucket, ts) index and scores
//    in SQL, so only `limit` rows come back).
// Failures (timeouts, connection loss) reject with the driver's error; bad arguments with
// TimelineQueryError before any I/O.
import { RETRY } from "../../shared/config.ts";
import { bucketOf, DEFAULT_BUCKET_MS } from "./buckets.ts";
import {
  checkEvent, checkId, checkWindow, decodeCursor, encodeCursor, MAX_TOP, TimelineQueryError,
  type CountsQuery, type EventsPage, type EventsQuery, type TimelineEvent, type TimelineEventType, type TimelineStore,
  type TopEntry, type TopQuery, type TypeCounts,
} from "./types.ts";

/** The query shape of origin/db.ts `Db` (and of tests' pg wrapper): rows, with a per-query timeout (ms). */
export interface SqlClient {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], timeoutMs?: number): Promise<T[]>;
}

export interface PostgresTimelineOptions {
  /** Bucket width (ms); must match the width the rows were written with. Default: one hour. */
  bucketMs?: number;
  /** Per-statement timeout of reads (ms). Default 2000. */
  readTimeoutMs?: number;
  /** Per-statement timeout of appends (ms). Default: the seed's DB-write per-try timeout (5 s). */
  writeTimeoutMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
type EventRow = { video_id: string; ts_ms: string; event_id: string; type: string; user_id: string; region: string; watch_ms: number | null };

const rowToEvent = (r: EventRow): TimelineEvent => ({
  videoId: String(r.video_id), tsMs: Number(r.ts_ms), eventId: r.event_id, type: r.type as TimelineEventType,
  userId: String(r.user_id), region: r.region, watchMs: r.watch_ms === null ? null : Number(r.watch_ms),
});

const SELECT_EVENT = `SELECT video_id::text, floor(extract(epoch FROM ts) * 1000)::bigint::text AS ts_ms, event_id, type, user_id::text, region, watch_ms`;

export class PostgresTimelineStore implements TimelineStore {
  readonly kind = "postgres";
  private readonly sql: SqlClient;
  private readonly bucketMs: number;
  private readonly readTimeoutMs: number;
  private readonly writeTimeoutMs: number;

  constructor(sql: SqlClient, opts: PostgresTimelineOptions = {}) {
    this.sql = sql;
    this.bucketMs = opts.bucketMs ?? DEFAULT_BUCKET_MS;
    this.readTimeoutMs = opts.readTimeoutMs ?? 2000;
    this.writeTimeoutMs = opts.writeTimeoutMs ?? RETRY.dbWrite.perTryTimeoutMs;
  }

  async append(events: TimelineEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const e of events) checkEvent(e);
    const col = <T>(f: (e: TimelineEvent) => T) => events.map(f);
    await this.sql.query(
      `INSERT INTO timeline_events (video_id, bucket, ts, event_id, type, user_id, region, watch_ms)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::integer[])
       ON CONFLICT DO NOTHING`,
      [
        col((e) => e.videoId), col((e) => String(bucketOf(e.tsMs, this.bucketMs))), col((e) => iso(e.tsMs)), col((e) => e.eventId),
        col((e) => e.type), col((e) => e.userId), col((e) => e.region), col((e) => e.watchMs),
      ],
      this.writeTimeoutMs,
    );
  }

  async events(videoId: string, q: EventsQuery): Promise<EventsPage> {
    checkId(videoId, "videoId");
    checkWindow(q);
    // Upper bound: strictly below the cursor's (ts, event_id), or below `toMs` on the first page ('' is the
    // smallest event_id, so (to, '') excludes exactly ts ≥ to).
    const below = q.cursor ? decodeCursor(q.cursor) : { tsMs: q.toMs, eventId: "" };
    if (below.tsMs > q.toMs) throw new TimelineQueryError("cursor outside the window");
    const rows = await this.sql.query<EventRow>(
      `${SELECT_EVENT} FROM timeline_events
        WHERE video_id = $1 AND bucket >= $2 AND bucket <= $3 AND ts >= $4 AND (ts, event_id) < ($5::timestamptz, $6::text COLLATE "C")
        ORDER BY bucket DESC, ts DESC, event_id DESC LIMIT $7`,
      [videoId, String(bucketOf(q.fromMs, this.bucketMs)), String(bucketOf(below.tsMs, this.bucketMs)), iso(q.fromMs), iso(below.tsMs), below.eventId, q.limit + 1],
      this.readTimeoutMs,
    );
    const events = rows.slice(0, q.limit).map(rowToEvent);
    return { events, next: rows.length > q.limit ? encodeCursor(events[events.length - 1]) : null };
  }

  async counts(videoIds: string[], q: CountsQuery): Promise<Map<string, TypeCounts>> {
    checkWindow(q);
    for (const id of videoIds) checkId(id, "videoId");
    const out = new Map<string, TypeCounts>();
    if (videoIds.length === 0 || q.toMs <= q.fromMs) return out;
    const params: unknown[] = [videoIds, String(bucketOf(q.fromMs, this.bucketMs)), String(bucketOf(q.toMs - 1, this.bucketMs)), iso(q.fromMs), iso(q.toMs)];
    if (q.region !== undefined) params.push(q.region);
    const rows = await this.sql.query<{ video_id: string; type: TimelineEventType; n: number }>(
      `SELECT video_id::text, type, count(*)::int AS n FROM timeline_events
        WHERE video_id = ANY($1::bigint[]) AND bucket >= $2 AND bucket <= $3 AND ts >= $4 AND ts < $5 ${q.region !== undefined ? "AND region = $6" : ""}
        GROUP BY video_id, type`,
      params,
      this.readTimeoutMs,
    );
    for (const r of rows) {
      const c = out.get(String(r.video_id)) ?? {};
      c[r.type] = Number(r.n);
      out.set(String(r.video_id), c);
    }
    return out;
  }

  async top(q: TopQuery): Promise<TopEntry[]> {
    checkWindow(q, MAX_TOP);
    const weights = Object.entries(q.weights).filter(([, w]) => w !== undefined && w !== 0) as [TimelineEventType, number][];
    if (weights.length === 0 || q.toMs <= q.fromMs) return [];
    const rows = await this.sql.query<{ video_id: string; score: number; counts: Record<string, number> | string }>(
      `WITH w(type, weight) AS (SELECT * FROM unnest($6::text[], $7::float8[])),
            c AS (SELECT video_id, type, count(*) AS n FROM timeline_events
                   WHERE region = $1 AND bucket >= $2 AND bucket <= $3 AND ts >= $4 AND ts < $5 AND type = ANY($6::text[])
                   GROUP BY video_id, type)
       SELECT c.video_id::text, sum(c.n * w.weight)::float8 AS score, jsonb_object_agg(c.type, c.n) AS counts
         FROM c JOIN w USING (type) GROUP BY c.video_id
        ORDER BY score DESC, c.video_id LIMIT $8`,
      [q.region, String(bucketOf(q.fromMs, this.bucketMs)), String(bucketOf(q.toMs - 1, this.bucketMs)), iso(q.fromMs), iso(q.toMs),
        weights.map(([t]) => t), weights.map(([, w]) => w), q.limit],
      this.readTimeoutMs,
    );
    return rows.map((r) => {
      const counts = (typeof r.counts === "string" ? JSON.parse(r.counts) : r.counts) as Record<string, number>;
      return { videoId: String(r.video_id), score: Number(r.score), counts: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)])) };
    });
  }
}
