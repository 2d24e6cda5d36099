import { uploadOrigin } from "../shared/video-id.ts";

// The events route's SQL (origin/events-routes.ts): which videos exist, and the one statement that writes
// a batch and the like state it changes.
//
// Likes are a per-(user, video) state (video_likes, shared/db/schema.ts videoLikeStatements), not a count of
// events: a `like` counts only when it turns not-liked into liked, an `unlike` only when it turns liked into
// not-liked, so one user adds at most one like to a video and never takes it below what others gave. The
// batch's interactions insert and the state change are ONE statement (data-modifying CTEs), so they commit
// together: a redelivered batch inserts nothing and so changes nothing, and a failed try changed nothing.
// Within a batch only each video's latest like/unlike (event time, then batch order) is applied; an
// event older than the event that set the stored state is ignored (a queue may deliver an older batch
// after a newer one). The upsert changes a row only when the state flips, so its RETURNING lists exactly
// the flips: an updated row, or a new row that is liked (a new unlike row is a not-liked tombstone).
// Concurrent batches of one user are exact too: ON CONFLICT re-checks the WHERE on the committed row.

export interface WrittenBatch {
  /** Events the insert really added (the others were already written under their idempotency keys). */
  inserted: { video_id: string | null; type: string }[];
  /** What the live counters must count: every new view, and a `like`/`unlike` per flipped like state. */
  counted: { video_id: string; type: "view" | "like" | "unlike" }[];
}

/** One batch row per event: (user_id, video_id, author_id, type, watch_ms, ts, idempotency_key, region). */
export const EVENT_PARAMS_PER_ROW = 8;

export function writeBatchSql(n: number): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = i * EVENT_PARAMS_PER_ROW;
    rows.push(`($${b + 1}::bigint, $${b + 2}::bigint, $${b + 3}::bigint, $${b + 4}, $${b + 5}::integer, $${b + 6}::timestamptz, $${b + 7}, $${b + 8})`);
  }
  return `WITH ins AS (
      INSERT INTO interactions (user_id, video_id, author_id, type, watch_ms, ts, idempotency_key, region)
      VALUES ${rows.join(", ")} ON CONFLICT (user_id, idempotency_key) DO NOTHING
      RETURNING id, user_id, video_id, type, ts, idempotency_key),
    last AS (
      SELECT DISTINCT ON (video_id) user_id, video_id, type = 'like' AS liked, ts, idempotency_key FROM ins
       WHERE type IN ('like', 'unlike') AND video_id IS NOT NULL ORDER BY video_id, ts DESC, id DESC),
    up AS (
      INSERT INTO video_likes AS l (user_id, video_id, liked, ts, event_key) SELECT user_id, video_id, liked, ts, idempotency_key FROM last
      ON CONFLICT (user_id, video_id) DO UPDATE SET liked = excluded.liked, ts = excluded.ts, event_key = excluded.event_key
       WHERE l.liked <> excluded.liked AND l.ts <= excluded.ts
      RETURNING video_id, liked, xmax = 0 AS created)
    SELECT 'inserted' AS k, video_id::text, type FROM ins
    UNION ALL SELECT 'counted', video_id::text, type FROM ins WHERE type = 'view' AND video_id IS NOT NULL
    UNION ALL SELECT 'counted', video_id::text, CASE WHEN liked THEN 'like' ELSE 'unlike' END FROM up WHERE liked OR NOT created`;
}

/** Splits the statement's rows into the batch's written events and its counter changes. */
export function splitWritten(rows: { k: string; video_id: string | null; type: string }[]): WrittenBatch {
  const out: WrittenBatch = { inserted: [], counted: [] };
  for (const r of rows) {
    if (r.k === "inserted") out.inserted.push({ video_id: r.video_id, type: r.type });
    else out.counted.push({ video_id: r.video_id!, type: r.type as "view" | "like" | "unlike" });
  }
  return out;
}

/**
 * Seconds an event for a video missing from this database is retried rather than refused: an upload
 * (an id of shared/video-id.ts, which carries its region and mint time) younger than this may still be on
 * its way — replicated from another region (lag bound REPLICATION_LAG_WARN_S, 60 s) or its upload still
 * queued behind a level-3 outage here. 30 min: the events queue keeps retrying that long well within its
 * delivery attempts (edge/events-consumer.ts, 100 attempts ≥ 60 s apart).
 */
export const UNREPLICATED_UPLOAD_GRACE_S = 1800;

/** Clock skew (ms) tolerated between the edge that minted an id and this origin. */
const MAX_CLOCK_SKEW_MS = 60_000;

export type MissingVideos = { kind: "none" } | { kind: "unknown"; ids: bigint[] } | { kind: "not_yet"; ids: bigint[] };

/**
 * Classifies the batch's video ids that this database does not hold: `unknown` (a permanent refusal:
 * some id is a seeded id or an upload older than the grace) wins over `not_yet` (all missing ids are
 * fresh uploads: retry later). `now` in ms.
 */
export function classifyMissing(missing: bigint[], now = Date.now(), graceS = UNREPLICATED_UPLOAD_GRACE_S): MissingVideos {
  if (!missing.length) return { kind: "none" };
  const unknown = missing.filter((id) => {
    const up = uploadOrigin(id);
    // A mint time in the future (beyond clock skew) is no upload of ours either.
    return !up || now - up.mintedAt > graceS * 1000 || up.mintedAt - now > MAX_CLOCK_SKEW_MS;
  });
  return unknown.length ? { kind: "unknown", ids: unknown } : { kind: "not_yet", ids: missing };
}

/** The idempotency keys among `keys` whose event set the user's current like state of its video (its row's event_key). */
export const LIKE_SETTERS_SQL = "SELECT event_key FROM video_likes WHERE user_id = $1 AND event_key = ANY($2::text[])";

/**
 * The batch's timeline events without the like/unlike events that changed no like state (the timelines
 * feed trending, where a like must count once per user too): a like/unlike stays only when it is its
 * video's current setter (`setterIds`: timeline event ids, origin/timeline/from-events.ts timelineEventId).
 * The setters are read again on every delivery, so a redelivery after a failed append re-appends the same.
 */
export function withoutIdleLikes<T extends { type: string; eventId: string }>(timeline: T[], setterIds: Set<string>): T[] {
  return timeline.filter((e) => (e.type !== "like" && e.type !== "unlike") || setterIds.has(e.eventId));
}
