import { z } from "zod";
import { RegionSchema } from "./regions.ts";

// Public HTTP contract of DESIGN §2, as zod schemas. The edge validates input with them, the origin
// validates what it produces, and /openapi.json is generated from them.

export const ReasonSchema = z.enum(["following", "trending", "similar", "explore", "cached", "emergency"]);
export type Reason = z.infer<typeof ReasonSchema>;

export const SourceSchema = z.enum(["edge-cache", "origin", "stale", "cached", "trending", "following", "emergency"]);
export type Source = z.infer<typeof SourceSchema>;

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
  cursor: CursorParamSchema.optional(),
  region: RegionSchema.optional(),
});
export type FeedQuery = z.infer<typeof FeedQuerySchema>;

export const VideoResponseSchema = VideoCoreSchema.extend({
  created_at: z.string(),
  region: RegionSchema,
});
export type VideoResponse = z.infer<typeof VideoResponseSchema>;

export const EventTypeSchema = z.enum(["view", "like", "unlike", "share", "comment", "follow", "unfollow", "skip"]);
export const EventSchema = z
  .object({
    type: EventTypeSchema,
    video_id: VideoIdSchema.optional(),
    author_id: UserIdSchema.optional(),
    watch_ms: z.number().int().min(0).max(86_400_000).optional(),
    ts: z.iso.datetime({ offset: true }),
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

export const EventsBodySchema = z.object({ events: z.array(EventSchema).min(1).max(100) }).strict();
export const EventsResponseSchema = z.object({ accepted: z.number().int(), queued: z.boolean() });

export const TrendingResponseSchema = z.object({
  region: RegionSchema,
  items: z.array(FeedItemSchema),
  generated_at: z.string(),
  source: z.string(),
});
export type TrendingResponse = z.infer<typeof TrendingResponseSchema>;
