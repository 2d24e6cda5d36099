import { z } from "zod";
import {
  EventsBodySchema, EventsResponseSchema, FeedResponseSchema, TrendingResponseSchema, VideoResponseSchema,
} from "../shared/contract.ts";
import { VideoPatchBodySchema, VideoQueuedResponseSchema, VideoUploadBodySchema, VideoWriteResponseSchema } from "../shared/contract.ts";
import { ErrorBodySchema } from "../shared/errors.ts";

// /openapi.json, generated from the same zod schemas the handlers validate with, so the document
// cannot drift from the code. Built once per isolate.
const json = (s: z.ZodType, io: "input" | "output" = "output") =>
  z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;
const content = (schema: Record<string, unknown>) => ({ "application/json": { schema } });
const errorRef = { $ref: "#/components/schemas/Error" };
const err = (description: string) => ({ description, content: content(errorRef) });
const q = (name: string, schema: Record<string, unknown>, description: string) => ({ name, in: "query", required: false, schema, description });
const bearer = [{ session: [] }];

let doc: Record<string, unknown> | null = null;
export function openApiDocument(): Record<string, unknown> {
  if (doc) return doc;
  doc = {
    openapi: "3.1.0",
    info: { title: "fyp-edge public API", version: "1.0.0", description: "For-You feed at the edge (DESIGN §2)." },
    components: {
      securitySchemes: {
        session: { type: "http", scheme: "bearer", bearerFormat: "JWT (HS256; sub=user id, region=home region)" },
        admin: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" },
      },
      schemas: {
        Error: json(ErrorBodySchema),
        FeedResponse: json(FeedResponseSchema),
        VideoResponse: json(VideoResponseSchema),
        EventsBody: json(EventsBodySchema, "input"),
        EventsResponse: json(EventsResponseSchema),
        TrendingResponse: json(TrendingResponseSchema),
        VideoUploadBody: json(VideoUploadBodySchema, "input"),
        VideoPatchBody: json(VideoPatchBodySchema, "input"),
        VideoWriteResponse: json(VideoWriteResponseSchema),
        VideoQueuedResponse: json(VideoQueuedResponseSchema),
      },
    },
    paths: {
      "/v1/feed": {
        get: {
          summary: "Personalized (token) or anonymous trending feed page",
          security: [{}, ...bearer],
          parameters: [
            q("count", { type: "integer", minimum: 1, maximum: 50, default: 10 }, "items per page"),
            q("cursor", { type: "string", maxLength: 2048 }, "opaque next_cursor of the previous page"),
            q("region", { type: "string", enum: ["us", "eu", "apac"] }, "geo routing override (local runs, tests)"),
          ],
          responses: {
            200: { description: "feed page", content: content({ $ref: "#/components/schemas/FeedResponse" }) },
            400: err("invalid query"),
            401: err("invalid token"),
          },
        },
      },
      "/v1/videos/{video_id}": {
        get: {
          summary: "Video metadata and live stats (hot-spot protected)",
          parameters: [{ name: "video_id", in: "path", required: true, schema: { type: "string", pattern: "^v[1-9][0-9]{0,17}$" } }],
          responses: {
            200: { description: "video", content: content({ $ref: "#/components/schemas/VideoResponse" }) },
            400: err("malformed id"), 404: err("unknown video"), 429: err("rate limited and nothing cached (retry-after)"),
          },
        },
        patch: {
          summary: "Edit a video (its creator only): last writer wins across regions",
          security: bearer,
          parameters: [{ name: "video_id", in: "path", required: true, schema: { type: "string", pattern: "^v[1-9][0-9]{0,17}$" } }],
          requestBody: { required: true, content: content({ $ref: "#/components/schemas/VideoPatchBody" }) },
          responses: {
            200: { description: "the video after the edit (applied: false when a newer edit was in place)", content: content({ $ref: "#/components/schemas/VideoWriteResponse" }) },
            202: { description: "home region at level 3 or down: queued", content: content({ $ref: "#/components/schemas/VideoQueuedResponse" }) },
            400: err("invalid body or id"), 401: err("missing or invalid token"), 403: err("not the creator"), 404: err("unknown video"), 413: err("body too large"),
          },
        },
      },
      "/v1/videos": {
        post: {
          summary: "Upload a video's metadata: written in the creator's home region, replicated to the others",
          security: bearer,
          requestBody: { required: true, content: content({ $ref: "#/components/schemas/VideoUploadBody" }) },
          responses: {
            201: { description: "written in the home region", content: content({ $ref: "#/components/schemas/VideoWriteResponse" }) },
            202: { description: "home region at level 3 or down: queued, written there after recovery", content: content({ $ref: "#/components/schemas/VideoQueuedResponse" }) },
            400: err("invalid body"), 401: err("missing or invalid token"), 413: err("body too large"),
          },
        },
      },
      "/v1/events": {
        post: {
          summary: "Record interaction events (durable once 202)",
          security: bearer,
          requestBody: { required: true, content: content({ $ref: "#/components/schemas/EventsBody" }) },
          responses: {
            202: { description: "accepted and queued", content: content({ $ref: "#/components/schemas/EventsResponse" }) },
            400: err("invalid body"), 401: err("missing or invalid token"), 413: err("body too large"),
          },
        },
      },
      "/v1/trending": {
        get: {
          summary: "Pre-warmed trending list (KV)",
          parameters: [q("region", { type: "string", enum: ["us", "eu", "apac"] }, "region")],
          responses: { 200: { description: "trending", content: content({ $ref: "#/components/schemas/TrendingResponse" }) }, 400: err("bad region") },
        },
      },
      "/v1/status": { get: { summary: "Levels, region health, incidents, breakers, cache counters", responses: { 200: { description: "status" } } } },
      "/v1/admin/degradation": {
        post: {
          summary: "Force (level 0–5) or release (null) a region's degradation level", security: [{ admin: [] }],
          requestBody: { required: true, content: content({ type: "object", required: ["region", "level"], properties: { region: { enum: ["us", "eu", "apac"] }, level: { type: ["integer", "null"], minimum: 0, maximum: 5 } } }) },
          responses: { 200: { description: "applied" }, 400: err("invalid body"), 401: err("no token"), 403: err("not admin") },
        },
      },
      "/v1/admin/prewarm": { post: { summary: "Run the trending/emergency pre-warm now", security: [{ admin: [] }], responses: { 200: { description: "report" }, 401: err("no token"), 403: err("not admin") } } },
      "/v1/admin/regions/{region}/drain": { post: { summary: "Drain a region", security: [{ admin: [] }], responses: { 200: { description: "snapshot" } } } },
      "/v1/admin/regions/{region}/restore": { post: { summary: "Restore a drained region", security: [{ admin: [] }], responses: { 200: { description: "snapshot" } } } },
    },
  };
  return doc;
}
