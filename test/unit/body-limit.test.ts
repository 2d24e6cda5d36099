import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { bodyLimitMiddleware, drainBytesFor } from "../../shared/body-limit.ts";

// shared/body-limit.ts: the cap holds for sized and chunked bodies, and an over-cap body is read to its
// end (up to the drain bound) before the 413, so the client has finished sending when the answer comes
// (hono/body-limit answered mid-upload and workerd closed the connection: EPIPE on the client, CI).

const CAP = 1024;

/** A chunked body of `total` bytes in 100-byte chunks that counts what the server pulled and whether it cancelled. */
function source(total: number) {
  const s = { pulled: 0, cancelled: false, stream: null as unknown as ReadableStream<Uint8Array> };
  s.stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (s.pulled >= total) return ctl.close();
      const n = Math.min(100, total - s.pulled);
      s.pulled += n;
      ctl.enqueue(new Uint8Array(n).fill(120));
    },
    cancel() {
      s.cancelled = true;
    },
  });
  return s;
}

function app() {
  const a = new Hono();
  a.use("*", bodyLimitMiddleware(CAP, 4 * CAP));
  a.post("/echo", async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  return a;
}

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  app().request("/echo", { method: "POST", body, headers, duplex: "half" } as RequestInit);

describe("body limit", () => {
  it("a chunked body within the cap reaches the handler whole", async () => {
    const s = source(CAP);
    const res = await post(s.stream);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: CAP });
  });

  it("a chunked body over the cap: read to its end, then 413 naming body", async () => {
    const s = source(3 * CAP);
    const res = await post(s.stream);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large", field: "body" } });
    expect(s.pulled).toBe(3 * CAP);
    expect(s.cancelled).toBe(false);
  });

  it("past the drain bound it stops reading (cancels the body) and answers 413", async () => {
    const s = source(100 * CAP);
    const res = await post(s.stream);
    expect(res.status).toBe(413);
    expect(s.cancelled).toBe(true);
    expect(s.pulled).toBeLessThan(100 * CAP);
    expect(s.pulled).toBeGreaterThan(4 * CAP);
  });

  it("a declared content-length over the cap: 413 after the body is read, or at once past the drain bound", async () => {
    const over = new Uint8Array(2 * CAP);
    const res = await post(over, { "content-length": String(over.byteLength) });
    expect(res.status).toBe(413);
    const huge = await post(new Uint8Array(10), { "content-length": String(10 * CAP) });
    expect(huge.status).toBe(413);
    const ok = await post(new Uint8Array(CAP), { "content-length": String(CAP) });
    expect(await ok.json()).toEqual({ bytes: CAP });
  });

  it("the default drain bound is Cloudflare's 100 MB request-body limit (or 4 × a cap above a quarter of it)", () => {
    expect(drainBytesFor(64 * 1024)).toBe(100_000_000);
    expect(drainBytesFor(1 << 20)).toBe(100_000_000);
    expect(drainBytesFor(32 << 20)).toBe(128 << 20);
  });
});
