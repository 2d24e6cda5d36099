// Where the ranking service's video feature table (gpu-inference/feature-table.ts) comes from:
//   - the region's Postgres (FEATURE_DATABASE_URL): the catalogue is global (every region holds every
//     video, shared/db/replication-schema.ts), so the region's own database has the whole table. Full load
//     in keyset pages; incremental changes since a cursor; on-demand reads of ids a request did not find;
//   - a snapshot file (FEATURE_SNAPSHOT, gpu-inference/feature-snapshot.ts): a full load only (benchmarks,
//     a pod that starts before its database is reachable).
//
// Incremental changes: a video row changes its published columns with `updated_at` (uploads, edits,
// removals, replicated versions: last writer wins by it), its counts through `video_counters.updated_at`
// (this region's flush, replicated counters). Both timestamps are the writer's clock, and replicated rows
// arrive late, so each refresh re-reads from `overlapMs` before the previous one's database time: a change
// that lands within the overlap of its timestamp is seen; a later one (replication lagging more than the
// overlap) waits for the next full reload. Re-reading a row is harmless (upsert).
//
// Every query has a timeout (statement_timeout on the server, query_timeout on the client).
import pg from "pg";
import type { VideoFeatureRow } from "./feature-table.ts";

export interface FeatureSource {
  /** "postgres" or "snapshot:<path>" (logs, /v1/features). */
  readonly name: string;
  /**
   * Streams every active video to `sink` in batches; resolves with the cursor of the first incremental
   * refresh (null when the source has none).
   */
  loadAll(sink: (rows: VideoFeatureRow[]) => void): Promise<string | null>;
  /** Videos changed since `cursor` (inactive ones with active = false) and the next cursor. Absent: no incremental refresh. */
  changedSince?(cursor: string): Promise<{ rows: VideoFeatureRow[]; cursor: string }>;
  /** The rows of these ids that exist (any status). Absent: no on-demand fetch. */
  byIds?(ids: string[]): Promise<VideoFeatureRow[]>;
  close(): Promise<void>;
}

export interface PostgresSourceOptions {
  connectionString: string;
  /** Re-read window of incremental refreshes (see the header); default 60 s (REPLICATION_LAG_WARN_S). */
  overlapMs?: number;
  /** Rows per full-load page; default 5,000 (a page's row objects die in the young generation). */
  pageRows?: number;
  /** Per-query bound (server and client); default 30 s (a full-load page of 5,000 rows takes ~0.1 s). */
  queryTimeoutMs?: number;
  /** Connection set-up bound; default 5 s. */
  connectTimeoutMs?: number;
}

type Row = { id: string; author: string; embedding: number[]; views: number; likes: number; created_ms: number; active: boolean };

const COLUMNS = `video_id::text AS id, author_id::text AS author, embedding, views::float8 AS views, likes::float8 AS likes,
  (extract(epoch FROM created_at) * 1000)::float8 AS created_ms, status = 'active' AS active`;

const toRow = (r: Row): VideoFeatureRow => ({
  id: r.id, author: r.author, embedding: r.embedding, views: r.views, likes: r.likes, createdMs: r.created_ms, active: r.active,
});

/** The region database as a feature source (see the header). */
export function postgresFeatureSource(o: PostgresSourceOptions): FeatureSource {
  const timeout = o.queryTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: o.connectionString, max: 2, connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    statement_timeout: timeout, query_timeout: timeout + 1000, idleTimeoutMillis: 30_000,
  });
  pool.on("error", () => {}); // an idle client dropped by the server must not crash the service
  const overlapS = (o.overlapMs ?? 60_000) / 1000;
  const pageRows = o.pageRows ?? 5000;
  const cursorNow = async () =>
    (await pool.query<{ c: string }>(`SELECT (now() - make_interval(secs => $1))::text AS c`, [overlapS])).rows[0].c;

  return {
    name: "postgres",
    async loadAll(sink) {
      const cursor = await cursorNow(); // before the first page: changes during the load are re-read
      let after = "-1";
      for (;;) {
        const { rows } = await pool.query<Row>(
          `SELECT ${COLUMNS} FROM videos WHERE status = 'active' AND video_id > $1::bigint ORDER BY video_id LIMIT $2`,
          [after, pageRows],
        );
        if (rows.length) sink(rows.map(toRow));
        if (rows.length < pageRows) return cursor;
        after = rows[rows.length - 1].id;
      }
    },
    async changedSince(since) {
      const cursor = await cursorNow();
      const { rows } = await pool.query<Row>(
        `WITH changed AS (
           SELECT video_id FROM videos WHERE updated_at > $1::timestamptz
           UNION SELECT video_id FROM video_counters WHERE updated_at > $1::timestamptz)
         SELECT ${COLUMNS} FROM videos JOIN changed USING (video_id)`,
        [since],
      );
      return { rows: rows.map(toRow), cursor };
    },
    async byIds(ids) {
      if (!ids.length) return [];
      const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM videos WHERE video_id = ANY($1::bigint[])`, [ids]);
      return rows.map(toRow);
    },
    close: () => pool.end().catch(() => {}),
  };
}
