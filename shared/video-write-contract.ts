import { z } from "zod";
import { UserIdSchema, VideoIdSchema, VideoPatchBodySchema, VideoUploadBodySchema } from "./contract.ts";
import { RegionSchema } from "./regions.ts";

// Edge → home-region origin: a catalogue write, sent directly (POST/PATCH /internal/v1/videos…) or, when
// the home region cannot write, through the EVENTS queue with the same fields (edge/video-write-consumer.ts).
// Each write carries its identity and version, assigned once at the edge, so any number of deliveries
// lands once: `video_id` (uploads), `ts` + `accepted_in` (created_at / LWW version of edits).
const WriteMeta = {
  user_id: UserIdSchema,
  /** The creator's home region (from the signed token): the only region that may write it. */
  home_region: RegionSchema,
  ts: z.iso.datetime({ offset: true }),
  accepted_in: RegionSchema,
};

export const OriginVideoUploadSchema = VideoUploadBodySchema.extend({ video_id: VideoIdSchema, ...WriteMeta }).strict();
export type OriginVideoUpload = z.infer<typeof OriginVideoUploadSchema>;

export const OriginVideoPatchSchema = z.object({ patch: VideoPatchBodySchema, ...WriteMeta }).strict();
export type OriginVideoPatch = z.infer<typeof OriginVideoPatchSchema>;

/** A queued catalogue write (a message kind of the EVENTS queue next to the events batches). */
export const VideoWriteMessageSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("video_upload"), body: OriginVideoUploadSchema, request_id: z.string() }),
  z.object({ kind: z.literal("video_patch"), video_id: VideoIdSchema, body: OriginVideoPatchSchema, request_id: z.string() }),
]);
export type VideoWriteMessage = z.infer<typeof VideoWriteMessageSchema>;

export const isVideoWriteMessage = (body: unknown): boolean =>
  typeof body === "object" && body !== null && ["video_upload", "video_patch"].includes((body as { kind?: unknown }).kind as string);
