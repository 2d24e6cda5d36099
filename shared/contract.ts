import { z } from "zod";
import { RegionSchema } from "./regions.ts";

// Public HTTP contract of DESIGN §2, as zod schemas. The edge validates input with them, the origin
// validates what it produces, and /openapi.json is generated from them.

export const ReasonSchema = z.enum(["following", "trending", "similar", "explore", "cached", "emergency"]);
export type Reason = z.infer<typeof ReasonSchema>;

export const SourceSchema = z.enum(["edge-cache", "origin", "stale", "cached", "trending", "following", "emergency"]);
export type Source = z.infer<typeof SourceSchema>;

/**
 * A client string that Postgres will store: `text` cannot hold U+0000 (Postgres refuses the whole
 * statement, "invalid byte sequence for encoding UTF8: 0x00"), so it is a 400 naming the field up
 * front, never a 422 from the database or a queued write that can never land. Every free-text string
 * of a write body starts from this schema; the id/key schemas' regexes already exclude U+0000.
 */
export const pgText = () => z.string().refine((s) => !s.includes("\u0000"), "must not contain U+0000 (NUL): Postgres text cannot store it");

export const VideoIdSchema = z.string().regex(/^v[1-9][0-9]{0,17}$/, "must look like v123");
export const UserIdSchema = z.string().regex(/^u[1-9][0-9]{0,17}$/, "must look like u123");

export const VideoStatsSchema = z.object({ views: z.number().int().nonnegative(), likes: z.number().int().nonnegative() });

/** Fields every video representation carries (feed items and the video endpoint). */
const VideoCoreSchema = z.object({
  video_id: VideoIdSchema,
  author_id: UserIdSchema,
  caption: z.string(),
  duration_ms: z.number().int().positive(),
  video_url: z.string(),
  thumbnail_url: z.string(),
  stats: VideoStatsSchema,
});

export const FeedItemSchema = VideoCoreSchema.extend({ score: z.number(), reason: ReasonSchema });
export type FeedItem = z.infer<typeof FeedItemSchema>;

export const FeedResponseSchema = z.object({
  items: z.array(FeedItemSchema),
  next_cursor: z.string().nullable(),
  source: SourceSchema,
  region: RegionSchema,
  degradation_level: z.number().int().min(0).max(5),
  limited: z.boolean(),
  model_version: z.string().nullable(),
  generated_at: z.string(),
});
export type FeedResponse = z.infer<typeof FeedResponseSchema>;

export const MAX_FEED_COUNT = 50;
const intInRange = (min: number, max: number, def: number) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s === "") return def;
      if (!/^-?[0-9]+$/.test(s)) {
        ctx.addIssue({ code: "custom", message: `must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      const n = Number(s);
      if (n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

export const CursorParamSchema = z.string().max(2048, "cursor too long").regex(/^[A-Za-z0-9_\-.]+$/, "malformed cursor");

export const FeedQuerySchema = z.object({
  count: intInRange(1, MAX_FEED_COUNT, 10),
  // `?cursor=` (empty) = no cursor, like `?count=` = the default count.
  cursor: z.union([z.literal(""), CursorParamSchema]).optional().transform((s) => s || undefined),
  region: RegionSchema.optional(),
});
export type FeedQuery = z.infer<typeof FeedQuerySchema>;

export const VideoResponseSchema = VideoCoreSchema.extend({
  created_at: z.string(),
  region: RegionSchema,
});
export type VideoResponse = z.infer<typeof VideoResponseSchema>;

/** Earliest event time accepted; later than now by at most EVENT_TS_MAX_AHEAD_MS (client clock skew). */
export const EVENT_TS_MIN_MS = Date.UTC(2000, 0, 1);
export const EVENT_TS_MAX_AHEAD_MS = 24 * 3600_000;

/** True when the Y-M-D of an ISO-8601 string is a real calendar date (2026-02-30 is not). */
function isCalendarDate(iso: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/**
 * An event time the database stores as meant: ISO-8601 with offset, a real calendar date, not before
 * 2000-01-01 and at most 24 h ahead of the server clock. Postgres refuses some ISO values outright
 * (year 0000, Feb 30) and the rest would be nonsense, so they are a 400 at the edge, never a 202 that
 * can not be written.
 */
export const EventTimestampSchema = z.iso
  .datetime({ offset: true })
  .refine(isCalendarDate, "not a calendar date")
  .refine((s) => Date.parse(s) >= EVENT_TS_MIN_MS, "before 2000-01-01T00:00:00Z")
  .refine((s) => Date.parse(s) <= Date.now() + EVENT_TS_MAX_AHEAD_MS, "more than 24 h in the future");

const EVENT_TYPES = ["view", "like", "unlike", "share", "comment", "follow", "unfollow", "skip"] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(", ")}` });
export const EventSchema = z
  .object({
    type: EventTypeSchema,
    video_id: VideoIdSchema.optional(),
    author_id: UserIdSchema.optional(),
    watch_ms: z.number().int().min(0).max(86_400_000).optional(),
    ts: EventTimestampSchema,
    idempotency_key: z.string().min(8).max(128).regex(/^[A-Za-z0-9_\-:.]+$/, "only [A-Za-z0-9_-:.] allowed"),
  })
  .strict()
  .superRefine((e, ctx) => {
    const needsVideo = ["view", "like", "unlike", "share", "comment", "skip"].includes(e.type);
    if (needsVideo && !e.video_id) ctx.addIssue({ code: "custom", path: ["video_id"], message: `required for type ${e.type}` });
    if ((e.type === "follow" || e.type === "unfollow") && !e.author_id)
      ctx.addIssue({ code: "custom", path: ["author_id"], message: `required for type ${e.type}` });
  });
export type FeedEvent = z.infer<typeof EventSchema>;

/**
 * One batch's events (1–100). Idempotency keys are unique within the batch: a repeated key would be a
 * second event the database silently drops (ON CONFLICT DO NOTHING) while the answer counts it as
 * accepted, so the later duplicate is a 400 (field `events.<i>.idempotency_key`). The edge's body and
 * the origin's internal body both use this array, so they agree.
 */
export const EventsArraySchema = z
  .array(EventSchema)
  .min(1)
  .max(100)
  .superRefine((events, ctx) => {
    const seen = new Set<string>();
    events.forEach((e, i) => {
      if (seen.has(e.idempotency_key)) ctx.addIssue({ code: "custom", path: [i, "idempotency_key"], message: "repeats an earlier event's idempotency_key in this batch" });
      seen.add(e.idempotency_key);
    });
  });
export const EventsBodySchema = z.object({ events: EventsArraySchema }).strict();
export const EventsResponseSchema = z.object({ accepted: z.number().int(), queued: z.boolean() });

export const TrendingResponseSchema = z.object({
  region: RegionSchema,
  items: z.array(FeedItemSchema),
  generated_at: z.string(),
  source: z.string(),
});
export type TrendingResponse = z.infer<typeof TrendingResponseSchema>;


// ── Catalogue writes (issue 14 items 1 and 3): uploads and creator edits ──────────────────────────────
/** Limits of an upload: caption length (TikTok's 2,200 characters), longest video (10 min), topics. */
export const VIDEO_CAPTION_MAX = 2200;
export const VIDEO_DURATION_MAX_MS = 600_000;
/** Latent topics of the catalogue (= IVF lists, 0 … VIDEO_TOPICS − 1). */
export const VIDEO_TOPICS = 16;
/** Largest upload/edit body (bytes): a maximal caption in 4-byte UTF-8 plus the other fields. */
export const VIDEO_WRITE_MAX_BODY_BYTES = 16 * 1024;

const CaptionSchema = pgText().min(1, "must not be empty").max(VIDEO_CAPTION_MAX, `at most ${VIDEO_CAPTION_MAX} characters`);
const TopicSchema = z.number().int().min(0).max(VIDEO_TOPICS - 1);

/** `POST /v1/videos` body. `topic` absent = the topic nearest to the creator's own interests. */
export const VideoUploadBodySchema = z
  .object({ caption: CaptionSchema, duration_ms: z.number().int().min(1).max(VIDEO_DURATION_MAX_MS), topic: TopicSchema.optional() })
  .strict();
export type VideoUploadBody = z.infer<typeof VideoUploadBodySchema>;

/** `PATCH /v1/videos/:video_id` body: the creator's edit of the published metadata (at least one field). */
export const VideoPatchBodySchema = z
  .object({ caption: CaptionSchema.optional(), topic: TopicSchema.optional() })
  .strict()
  .refine((b) => b.caption !== undefined || b.topic !== undefined, { message: "nothing to change: give caption and/or topic", path: ["caption"] });
export type VideoPatchBody = z.infer<typeof VideoPatchBodySchema>;

/** 201 of an upload and 200 of an edit: the video as stored in the creator's home region. */
export const VideoWriteResponseSchema = VideoResponseSchema.extend({
  topic: z.number().int(),
  /** Version of the metadata (last writer wins by updated_at, then region). */
  updated_at: z.string(),
  /** PATCH only: false when a newer edit was already in place (the response shows that one). */
  applied: z.boolean().optional(),
});
export type VideoWriteResponse = z.infer<typeof VideoWriteResponseSchema>;

/** 202: the creator's home region cannot write now; the write is queued and lands there on recovery. */
export const VideoQueuedResponseSchema = z.object({ queued: z.literal(true), video_id: VideoIdSchema });
