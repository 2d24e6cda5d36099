import { Redis } from "@upstash/redis";
import { describe, expect, inject, it } from "vitest";
import { LOCAL_UPSTASH_TOKEN } from "../../shared/local-ports.ts";
import { counter } from "./support/metrics.ts";

// Hot-spot defence for GET /v1/videos/:id against the real stack: a burst on one video is served by the
// edge (cache + coalescing), the key is detected as hot, and the origin spreads it over Redis replicas.
const stack = inject("stack");

describe("hot video", () => {
  it("a burst on one video: all 200, few origin fetches, detected hot, replicated in Redis", async () => {
    const vid = "v4242";
    const before = await counter(`${stack.originUrl.us}/metrics`, "fyp_origin_requests_total", { route: "video" });
    const burst = () => Promise.all(Array.from({ length: 150 }, () => fetch(`${stack.edgeUrl}/v1/videos/${vid}?region=us`).then(async (r) => ({ status: r.status, hot: r.headers.get("x-hot-key"), body: await r.text() }))));
    const first = await burst();
    expect(first.every((r) => r.status === 200)).toBe(true);
    expect(JSON.parse(first[0].body).video_id).toBe(vid);
    const after = await counter(`${stack.originUrl.us}/metrics`, "fyp_origin_requests_total", { route: "video" });
    expect(after - before).toBeLessThanOrEqual(2);
    expect(first.some((r) => r.hot === "1")).toBe(true);
    // A hot miss at the origin (the edge asks with ?hot=1) fills every replica key.
    const res = await fetch(`${stack.originUrl.us}/internal/v1/videos/${vid}?hot=1`, { headers: { "x-internal-secret": stack.secrets.INTERNAL_SECRET } });
    expect(res.status).toBe(200);
    const redis = new Redis({ url: stack.upstashUrl.us, token: LOCAL_UPSTASH_TOKEN, automaticDeserialization: false });
    await expect.poll(async () => (await redis.mget<(string | null)[]>(...Array.from({ length: 8 }, (_, i) => `video:4242#r${i}`))).filter(Boolean).length, { timeout: 5000 }).toBe(8);
  });

  it("unknown ids are 404 and malformed ids 400, with the error shape", async () => {
    const r404 = await fetch(`${stack.edgeUrl}/v1/videos/v999999999?region=us`);
    expect(r404.status).toBe(404);
    expect((await r404.json()).error.code).toBe("not_found");
    const r400 = await fetch(`${stack.edgeUrl}/v1/videos/abc`);
    expect(r400.status).toBe(400);
    expect((await r400.json()).error.field).toBe("video_id");
  });
});
