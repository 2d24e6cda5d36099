import type { Context, Hono } from "hono";
import { RETRY } from "../shared/config.ts";
import { type VideoWriteResponse, VideoWriteResponseSchema, VIDEO_WRITE_MAX_BODY_BYTES } from "../shared/contract.ts";
import { ApiError, fromZodError } from "../shared/errors.ts";
import { formatUserId, formatVideoId, parseUserId, parseVideoId } from "../shared/ids.ts";
import { readJsonBody } from "../shared/json-body.ts";
import { retryPolicy } from "../shared/resilience-policy.ts";
import { OriginVideoPatchSchema, OriginVideoUploadSchema } from "../shared/video-write-contract.ts";
import type { AppEnv, RequestDeps } from "./context.ts";
import { isPermanentDbError } from "./db.ts";
import type { OriginConfig } from "./env.ts";
import { invalidateVideo } from "./replication/tick.ts";
import { insertVideo, patchVideo, type VideoRow } from "./video-writes.ts";
import { assertWritesAllowed } from "./write-guard.ts";

// POST /internal/v1/videos and PATCH /internal/v1/videos/:id (called by the edge, directly or from the
// EVENTS queue): catalogue writes in THIS region, which must be the creator's home region.
//  - Residency: the body names the creator's home region (from the signed token) and the creator must
//    live in this database; otherwise 409, never written here. Other regions never accept the write.
//  - Level 3 (database degraded, measured or forced): 503 writes_queued + retry-after without touching the
//    database (origin/write-guard.ts, the events route's guard), so the edge queues the write (202) and
//    the queue delivers it after recovery.
//  - Idempotent: uploads carry their pre-assigned id, edits their version (origin/video-writes.ts).
//  - DB errors: 503 (retried by the edge/queue); a refused value (permanent SQLSTATE) 422.

/** The DB write row; an ApiError (the route's own answer) and a permanent SQLSTATE are not retried. */
const DB_WRITE = retryPolicy(RETRY.dbWrite, { retryable: (e) => !(e instanceof ApiError) && !isPermanentDbError(e) });

/** The video's public shape from its row (stats = this region's merged CRDT view). */
export function videoShape(cfg: OriginConfig, r: VideoRow): VideoWriteResponse {
  const vid = formatVideoId(r.video_id);
  return VideoWriteResponseSchema.parse({
    video_id: vid, author_id: formatUserId(r.author_id), caption: r.caption, duration_ms: r.duration_ms,
    video_url: `${cfg.MEDIA_BASE_URL}/${r.upload_region}/${vid}.mp4`, thumbnail_url: `${cfg.MEDIA_BASE_URL}/${r.upload_region}/${vid}.jpg`,
    stats: { views: Math.max(0, Number(r.views)), likes: Math.max(0, Number(r.likes)) },
    created_at: new Date(r.created_at).toISOString(), region: r.upload_region, topic: r.topic,
    updated_at: new Date(r.updated_at).toISOString(),
  });
}

async function dbWrite<T>(c: Context<AppEnv>, f: () => Promise<T>): Promise<T> {
  try {
    return await DB_WRITE.execute(() => f());
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (isPermanentDbError(e)) throw new ApiError(422, "unwritable", `refused by the database: ${(e as Error).message}`, "body");
    c.header("retry-after", "2");
    throw new ApiError(503, "db_unavailable", `not written: ${(e as Error).message}`);
  }
}

export function videoWriteRoutes(app: Hono<AppEnv>, deps: (c: Context<AppEnv>) => RequestDeps): void {
  app.post("/internal/v1/videos", async (c) => {
    const d = deps(c);
    d.metrics.request("video_upload");
    const p = OriginVideoUploadSchema.safeParse(await readJsonBody(c.req, VIDEO_WRITE_MAX_BODY_BYTES));
    if (!p.success) throw fromZodError(p.error);
    const b = p.data;
    if (b.home_region !== d.cfg.REGION) throw new ApiError(409, "wrong_region", `creator's home region is ${b.home_region}; this is ${d.cfg.REGION}`, "home_region");
    assertWritesAllowed(c, d); // level 3: a retryable 503, the write stays queued (origin/write-guard.ts)
    const r = await dbWrite(c, () =>
      insertVideo(d.db, d.cfg.REGION, {
        videoId: parseVideoId(b.video_id)!, authorId: parseUserId(b.user_id)!, caption: b.caption, durationMs: b.duration_ms,
        topic: b.topic ?? null, ts: b.ts, acceptedIn: b.accepted_in,
      }),
    );
    if (r.kind === "no_author") throw new ApiError(409, "wrong_region", `user ${b.user_id} is not a resident of ${d.cfg.REGION}`, "user_id");
    if (r.kind === "id_taken") throw new ApiError(409, "id_taken", `${b.video_id} belongs to another upload`, "video_id");
    if (r.kind === "no_topic") throw new ApiError(400, "invalid_request", "no such topic", "topic");
    return c.json(videoShape(d.cfg, r.row), r.kind === "created" ? 201 : 200);
  });

  app.patch("/internal/v1/videos/:id", async (c) => {
    const d = deps(c);
    d.metrics.request("video_patch");
    const id = parseVideoId(c.req.param("id"));
    if (id === null) throw new ApiError(400, "invalid_request", "must look like v123", "video_id");
    const p = OriginVideoPatchSchema.safeParse(await readJsonBody(c.req, VIDEO_WRITE_MAX_BODY_BYTES));
    if (!p.success) throw fromZodError(p.error);
    const b = p.data;
    if (b.home_region !== d.cfg.REGION) throw new ApiError(409, "wrong_region", `creator's home region is ${b.home_region}; this is ${d.cfg.REGION}`, "home_region");
    assertWritesAllowed(c, d); // level 3: a retryable 503, the write stays queued (origin/write-guard.ts)
    const r = await dbWrite(c, () => patchVideo(d.db, d.cfg.REGION, id, parseUserId(b.user_id)!, b.patch, b.ts, b.accepted_in));
    if (r.kind === "not_found") throw new ApiError(404, "not_found", `no video ${formatVideoId(id)}`, "video_id");
    if (r.kind === "forbidden") throw new ApiError(403, "forbidden", "only the video's creator may edit it", "video_id");
    if (r.kind === "wrong_region") throw new ApiError(409, "wrong_region", `${formatVideoId(id)} is written in ${r.row.upload_region}`, "video_id");
    if (r.kind === "no_topic") throw new ApiError(400, "invalid_request", "no such topic", "topic");
    d.waitUntil(invalidateVideo(d.redis, [id.toString()]));
    return c.json({ ...videoShape(d.cfg, r.row), applied: r.kind === "applied" });
  });
}
