import type { Context, Hono } from "hono";
import { z } from "zod";
import { EventsArraySchema, UserIdSchema } from "../shared/contract.ts";
import { ApiError, fromZodError } from "../shared/errors.ts";
import { INTERNAL_MAX_BODY_BYTES, readJsonBody } from "../shared/json-body.ts";
import { formatVideoId, parseUserId, parseVideoId } from "../shared/ids.ts";
import { RegionSchema } from "../shared/regions.ts";
import type { AppEnv, RequestDeps } from "./context.ts";
import { type Db, isPermanentDbError } from "./db.ts";
import { dbWrite, readRetrying } from "./db-retry.ts";
import { classifyMissing, LIKE_SETTERS_SQL, splitWritten, withoutIdleLikes, type WrittenBatch, writeBatchSql } from "./events-write.ts";
import { bumpCounters } from "./live-counters.ts";
import { assertWritesAllowed } from "./write-guard.ts";
import { timelineEventId, timelineEventsOf } from "./timeline/from-events.ts";
import { PostgresTimelineStore } from "./timeline/postgres.ts";

// POST /internal/v1/events (called by the edge's queue consumer): write a user's interaction events
// into THIS region's database, exactly once per idempotency key.
//  - Residency guard: the batch must name this region as the user's home region AND the user must
//    live in this region's database; anything else is refused (409), never written here.
//  - Idempotency: INSERT … ON CONFLICT (user_id, idempotency_key) DO NOTHING (keys are the client's, so
//    unique per user), so redelivery is harmless.
//  - Retries (DESIGN.md §3, origin/db-retry.ts): the home-region lookup is a read (DB read row: 3 retries,
//    10/50/200 ms ±20%, 100 ms per try); the insert and the timeline append are writes (DB write row: 3
//    retries, 100/500/2000 ms ±30%, 5 s per try), idempotent, so a timed-out try that did commit is harmless.
//    A permanent SQLSTATE is never retried. The edge waits for all of it (edge/origin-client.ts).
//  - Durability: DB trouble answers 503, which makes the consumer retry the queue message later; data the
//    database refuses (a permanent SQLSTATE) answers 422, which the consumer dead-letters with the reason.
//  - Timelines: the batch's video events are then appended to the per-video timelines (TimelineStore,
//    idempotent, origin/timeline/from-events.ts) in the same try: a failed append fails the request like
//    a failed insert, and the redelivery appends what is missing. A like/unlike goes in only when it set
//    the user's like state (origin/events-write.ts withoutIdleLikes).
//  - Likes are a per-(user, video) state: the counters count a like/unlike only when it flips that state
//    (origin/events-write.ts); views stay additive.
//  - Videos: an event for a video this database does not hold is a permanent 422 unknown_video (dead-
//    lettered with the reason), unless the id is an upload minted less than UNREPLICATED_UPLOAD_GRACE_S
//    ago (still replicating, or its upload still queued): 425 video_not_replicated, which the queue retries.
/** Seconds a batch naming a not-yet-replicated upload is asked to wait (the consumer's own backoff rules). */
const NOT_YET_RETRY_AFTER_S = 5;

export const OriginEventsBody = z.object({ user_id: UserIdSchema, home_region: RegionSchema, events: EventsArraySchema }).strict();

/**
 * The user's home region as this region's database records it (null: not a resident) and which of
 * `videoIds` this database holds (decimal strings), in one round trip under the DB read row.
 */
async function residencyAndVideos(db: Db, userId: bigint, videoIds: bigint[]): Promise<{ home: string | null; have: Set<string> }> {
  const rows = await readRetrying(db).query<{ home_region: string | null; have: string[] }>(
    `SELECT (SELECT home_region FROM users WHERE user_id = $1) AS home_region,
            ARRAY(SELECT video_id::text FROM videos WHERE video_id = ANY($2::bigint[])) AS have`,
    [userId.toString(), videoIds.map(String)],
  );
  return { home: rows[0]?.home_region ?? null, have: new Set(rows[0]?.have ?? []) };
}

export function eventsRoutes(app: Hono<AppEnv>, deps: (c: Context<AppEnv>) => RequestDeps): void {
  app.post("/internal/v1/events", async (c) => {
    const d = deps(c);
    d.metrics.request("events");
    const parsed = OriginEventsBody.safeParse(await readJsonBody(c.req, INTERNAL_MAX_BODY_BYTES));
    if (!parsed.success) throw fromZodError(parsed.error);
    const { user_id, home_region, events } = parsed.data;
    const uid = parseUserId(user_id);
    if (uid === null) throw new ApiError(400, "invalid_request", "must look like u123", "user_id");
    if (home_region !== d.cfg.REGION)
      throw new ApiError(409, "wrong_region", `user's home region is ${home_region}; this is ${d.cfg.REGION}`, "home_region");
    assertWritesAllowed(c, d); // level 3: a retryable 503, the events stay queued (origin/write-guard.ts)
    const params: unknown[] = [];
    for (const e of events) {
      params.push(uid.toString(), e.video_id ? parseVideoId(e.video_id)!.toString() : null, e.author_id ? parseUserId(e.author_id)!.toString() : null,
        e.type, e.watch_ms ?? null, e.ts, e.idempotency_key, d.cfg.REGION);
    }
    const videoIds = [...new Set(events.flatMap((e) => (e.video_id ? [parseVideoId(e.video_id)!] : [])))];
    let written: WrittenBatch;
    try {
      const { home, have } = await residencyAndVideos(d.db, uid, videoIds);
      if (home !== d.cfg.REGION)
        throw new ApiError(409, "wrong_region", home ? `user lives in ${home}` : `user ${user_id} is not a resident of ${d.cfg.REGION}`, "user_id");
      const missing = classifyMissing(videoIds.filter((v) => !have.has(v.toString())));
      if (missing.kind === "unknown")
        throw new ApiError(422, "unknown_video", `no such video: ${missing.ids.map(formatVideoId).join(", ")}`, "events.video_id");
      if (missing.kind === "not_yet")
        throw new ApiError(425, "video_not_replicated", `${missing.ids.map(formatVideoId).join(", ")} not in ${d.cfg.REGION} yet (a fresh upload): retry later`,
          "events.video_id", { "retry-after": String(NOT_YET_RETRY_AFTER_S) });
      written = splitWritten(await dbWrite((t) => d.db.query(writeBatchSql(events.length), params, t)));
      let timeline = timelineEventsOf(uid, d.cfg.REGION, events);
      const likeKeys = events.filter((e) => e.video_id && (e.type === "like" || e.type === "unlike")).map((e) => e.idempotency_key);
      if (likeKeys.length) {
        const setters = await readRetrying(d.db).query<{ event_key: string }>(LIKE_SETTERS_SQL, [uid.toString(), likeKeys]);
        timeline = withoutIdleLikes(timeline, new Set(setters.map((r) => timelineEventId(uid, r.event_key))));
      }
      if (timeline.length) await dbWrite((t) => new PostgresTimelineStore(d.db, { writeTimeoutMs: t }).append(timeline));
    } catch (e) {
      if (e instanceof ApiError) throw e;
      // The database refused the data itself: a permanent 422 the queue consumer dead-letters with this
      // reason instead of retrying a write that can never succeed.
      if (isPermanentDbError(e)) throw new ApiError(422, "unwritable", `events refused by the database (SQLSTATE ${(e as { code: string }).code}): ${(e as Error).message}`, "events");
      c.header("retry-after", "2");
      throw new ApiError(503, "db_unavailable", `events not written: ${(e as Error).message}`);
    }
    d.metrics.eventsWritten(written.inserted.length);
    // Live counters (flushed to Postgres in batches): new views and flipped like states only.
    c.executionCtx.waitUntil(bumpCounters(d.redis, written.counted).catch(() => {}));
    return c.json({ written: written.inserted.length, duplicates: events.length - written.inserted.length, region: d.cfg.REGION });
  });
}
