import { env } from "cloudflare:workers";
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import { VideoQueuedResponseSchema } from "../../shared/contract.ts";

// POST /v1/videos and PATCH /v1/videos/:id inside workerd. The test config's origins do not resolve,
// so a valid write finds its home region unreachable and must be queued (202 with its id), never lost
// and never sent elsewhere; bad input is a 4xx naming the field before anything is queued.
const e = env as unknown as Record<string, string>;
const post = (body: unknown, token?: string, method = "POST", path = "/v1/videos") =>
  SELF.fetch(`http://edge${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("catalogue writes at the edge", () => {
  it("an upload needs a session and a valid body: 401, 400 naming the field, 413", async () => {
    const t = await mintSessionToken(e.SESSION_SECRET, "u42", "eu");
    expect((await post({ caption: "x", duration_ms: 1000 })).status).toBe(401);
    const cases: [unknown, string][] = [
      [{ duration_ms: 1000 }, "caption"],
      [{ caption: "", duration_ms: 1000 }, "caption"],
      [{ caption: "x", duration_ms: 0 }, "duration_ms"],
      [{ caption: "x", duration_ms: 600_001 }, "duration_ms"],
      [{ caption: "x", duration_ms: 1.5 }, "duration_ms"],
      [{ caption: "x", duration_ms: 1000, topic: 16 }, "topic"],
      [{ caption: "x", duration_ms: 1000, author_id: "u1" }, "author_id"],
      [{ caption: "x".repeat(2201), duration_ms: 1000 }, "caption"],
      ["{nope", "body"],
    ];
    for (const [body, field] of cases) {
      const r = await post(body, t);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect((await r.json()).error.field).toBe(field);
    }
    expect((await post({ caption: "x".repeat(20_000), duration_ms: 1000 }, t)).status).toBe(413);
  });

  it("with the home region unreachable, an upload is queued: 202 with a fresh id, distinct per upload", async () => {
    const t = await mintSessionToken(e.SESSION_SECRET, "u42", "apac");
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await post({ caption: `queued ${i}`, duration_ms: 1000 }, t);
      expect(r.status).toBe(202);
      const body = VideoQueuedResponseSchema.parse(await r.json());
      ids.add(body.video_id);
    }
    expect(ids.size).toBe(3);
  });

  it("edits: 401 without a session, 400 for a bad id or an empty edit, queued (202) while the home region is unreachable", async () => {
    const t = await mintSessionToken(e.SESSION_SECRET, "u42", "us");
    expect((await post({ caption: "x" }, undefined, "PATCH", "/v1/videos/v1")).status).toBe(401);
    const badId = await post({ caption: "x" }, t, "PATCH", "/v1/videos/x1");
    expect(badId.status).toBe(400);
    expect((await badId.json()).error.field).toBe("video_id");
    const empty = await post({}, t, "PATCH", "/v1/videos/v1");
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.field).toBe("caption");
    const queued = await post({ caption: "new" }, t, "PATCH", "/v1/videos/v1");
    expect(queued.status).toBe(202);
    expect(await queued.json()).toEqual({ queued: true, video_id: "v1" });
  });
});
