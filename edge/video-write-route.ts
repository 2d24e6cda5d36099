import type { Context } from "hono";
import type { Session } from "../shared/auth.ts";
import { VideoPatchBodySchema, VideoUploadBodySchema, VIDEO_WRITE_MAX_BODY_BYTES } from "../shared/contract.ts";
import { ApiError, fromZodError } from "../shared/errors.ts";
import { FORCED_LEVEL_HEADER, forcedOriginLevel } from "../shared/forced-level-header.ts";
import { formatVideoId, parseVideoId } from "../shared/ids.ts";
import { readJsonBody } from "../shared/json-body.ts";
import type { Region } from "../shared/regions.ts";
import { newVideoId } from "../shared/video-id.ts";
import type { OriginVideoPatch, OriginVideoUpload, VideoWriteMessage } from "../shared/video-write-contract.ts";
import type { EdgeEnv } from "./app-env.ts";
import { cacheDelete } from "./edge-cache.ts";
import { edgeConfig } from "./env.ts";
import { callOrigin, OriginUnavailable } from "./origin-client.ts";
import { readRegion } from "./region-router.ts";
import { forcedPolicy, getForcedLevels } from "./forced-levels.ts";
import { regionViews, routeRead } from "./routing.ts";
import { requestSession } from "./session.ts";

// POST /v1/videos (upload a video's metadata) and PATCH /v1/videos/:video_id (its creator's edit).
// Written in the creator's home region only (the token's region, never the body's or the client's):
//  - home region writable → the origin's answer (201 upload / 200 edit, or its 4xx);
//  - home region at level 3 (forced, or its origin answers 503), out of rotation or unreachable → the
//    write goes to the EVENTS queue (edge/video-write-consumer.ts delivers it to that same region after
//    recovery) and the answer is 202 {queued: true, video_id}. The id (uploads) and the version
//    (ts + accepted_in, edits) are fixed here, so redeliveries land once.
// A queued edit is checked against the replicated catalogue first (any healthy region), so an unknown
// video is still 404 and someone else's still 403 while the home region is down.

/** One direct try with a short budget: a write that cannot land now is queued rather than retried here. */
const WRITE_POLICY = { retries: 1, delaysMs: [100], jitter: 0.2, perTryTimeoutMs: 3000 };

const cfOf = (c: Context<EdgeEnv>) => (c.req.raw as unknown as { cf?: { country?: string; continent?: string } }).cf;

async function signedIn(c: Context<EdgeEnv>): Promise<Session> {
  const s = await requestSession(c);
  if (!s) throw new ApiError(401, "unauthorized", "catalogue writes require a session token", "authorization");
  return s;
}

/**
 * Is the home region writable right now, as far as the edge knows? In rotation (a recovering region at
 * reduced read weight takes all its writes) and not forced to level 3 or above.
 */
async function homeWritable(c: Context<EdgeEnv>, home: Region): Promise<{ ok: boolean; forced: number | undefined }> {
  const [views, forcedLevels] = await Promise.all([regionViews(c.env), getForcedLevels(c.env.FYP_KV)]);
  return { ok: !!views.find((v) => v.region === home)?.inRotation && forcedPolicy(forcedLevels, home).writesAllowed, forced: forcedLevels[home] };
}

type Direct = { kind: "answer"; res: Response } | { kind: "queue" };

async function tryHome(c: Context<EdgeEnv>, home: Region, path: string, method: string, body: unknown, forced: number | undefined): Promise<Direct> {
  try {
    const res = await callOrigin(edgeConfig(c.env), home, path, {
      method,
      headers: { "content-type": "application/json", "x-request-id": c.get("requestId"), [FORCED_LEVEL_HEADER]: forcedOriginLevel(forced) },
      body: JSON.stringify(body),
    }, WRITE_POLICY);
    if (res.status >= 500) {
      await res.body?.cancel();
      return { kind: "queue" };
    }
    return { kind: "answer", res };
  } catch (e) {
    if (e instanceof OriginUnavailable) return { kind: "queue" };
    throw e;
  }
}

async function enqueue(c: Context<EdgeEnv>, msg: VideoWriteMessage, videoId: string): Promise<Response> {
  if (!c.env.EVENTS) throw new ApiError(503, "unavailable", "write queue not bound in this deployment");
  try {
    await c.env.EVENTS.send(msg, { contentType: "json" });
  } catch (e) {
    console.error(`video write queue send failed: ${(e as Error).message}`);
    throw new ApiError(503, "unavailable", "write queue temporarily unavailable; retry", undefined, { "retry-after": "1" });
  }
  return c.json({ queued: true, video_id: videoId }, 202);
}

const relay = async (c: Context<EdgeEnv>, res: Response, status?: number) =>
  c.body(await res.text(), (status ?? res.status) as 200, { "content-type": "application/json", "cache-control": "no-store" });

export async function videoUploadRoute(c: Context<EdgeEnv>): Promise<Response> {
  const session = await signedIn(c);
  const p = VideoUploadBodySchema.safeParse(await readJsonBody(c.req, VIDEO_WRITE_MAX_BODY_BYTES));
  if (!p.success) throw fromZodError(p.error);
  const home = session.homeRegion;
  const acceptedIn = readRegion(edgeConfig(c.env), { override: c.req.header("x-fyp-region"), cf: cfOf(c), homeRegion: home });
  const ts = new Date().toISOString();
  const writable = await homeWritable(c, home);
  for (let attempt = 0; ; attempt++) {
    const body: OriginVideoUpload = { ...p.data, video_id: formatVideoId(newVideoId(home)), user_id: session.userId, home_region: home, ts, accepted_in: acceptedIn };
    const direct: Direct = writable.ok ? await tryHome(c, home, "/internal/v1/videos", "POST", body, writable.forced) : { kind: "queue" };
    if (direct.kind === "queue") return enqueue(c, { kind: "video_upload", body, request_id: c.get("requestId") }, body.video_id);
    const { res } = direct;
    // A fresh id that another upload already holds (2^-18 per same-millisecond upload): draw again.
    if (res.status === 409 && attempt < 2 && (await res.clone().json().catch(() => null))?.error?.code === "id_taken") continue;
    return relay(c, res, res.ok ? 201 : undefined);
  }
}

export async function videoPatchRoute(c: Context<EdgeEnv>): Promise<Response> {
  const id = parseVideoId(c.req.param("video_id") ?? "");
  if (id === null) throw new ApiError(400, "invalid_request", "must look like v123", "video_id");
  const vid = formatVideoId(id);
  const session = await signedIn(c);
  const p = VideoPatchBodySchema.safeParse(await readJsonBody(c.req, VIDEO_WRITE_MAX_BODY_BYTES));
  if (!p.success) throw fromZodError(p.error);
  const home = session.homeRegion;
  const body: OriginVideoPatch = {
    patch: p.data, user_id: session.userId, home_region: home, ts: new Date().toISOString(),
    accepted_in: readRegion(edgeConfig(c.env), { override: c.req.header("x-fyp-region"), cf: cfOf(c), homeRegion: home }),
  };
  const writable = await homeWritable(c, home);
  const direct: Direct = writable.ok ? await tryHome(c, home, `/internal/v1/videos/${vid}`, "PATCH", body, writable.forced) : { kind: "queue" };
  if (direct.kind === "answer") {
    if (direct.res.ok) c.executionCtx.waitUntil(cacheDelete(`video/${vid}`).catch(() => {}));
    return relay(c, direct.res);
  }
  await checkOwnership(c, vid, session.userId);
  return enqueue(c, { kind: "video_patch", video_id: vid, body, request_id: c.get("requestId") }, vid);
}

/** 404/403 from the replicated catalogue (any region in rotation) before an edit is queued. */
async function checkOwnership(c: Context<EdgeEnv>, vid: string, userId: string): Promise<void> {
  const route = await routeRead(c.env, edgeConfig(c.env).DEFAULT_REGION);
  const noRetry = { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: 2000 };
  for (const region of route.candidates) {
    try {
      const res = await callOrigin(edgeConfig(c.env), region, `/internal/v1/videos/${vid}`, { headers: { "x-request-id": c.get("requestId") } }, noRetry);
      if (res.status === 404) throw new ApiError(404, "not_found", `no video ${vid}`, "video_id");
      if (!res.ok) continue;
      const v = (await res.json()) as { author_id?: string };
      if (v.author_id !== userId) throw new ApiError(403, "forbidden", "only the video's creator may edit it", "video_id");
      return;
    } catch (e) {
      if (e instanceof ApiError) throw e;
    }
  }
  // No region could answer: queue anyway; the home origin checks creator and existence on delivery.
}
