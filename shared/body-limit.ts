import type { MiddlewareHandler } from "hono";
import { errorBody } from "./errors.ts";

// The request-body size cap of every service that reads a body (edge, origins), whatever the framing.
//
// Why not hono/body-limit (used before): it answers 413 the moment the cap is passed and leaves the rest
// of the client's body unread. workerd then closes the connection while the client is still sending,
// so the client sees EPIPE / a reset instead of the 413 (seen in CI: a chunked 1 MiB + 64 KiB POST to
// an origin). The ranking service already reads such a body to its end before answering
// (gpu-inference/rank-listener.ts); this does the same, bounded: past `drainBytes` in all it stops
// reading and answers at once. The default bound is Cloudflare's own request-body limit on the Free and
// Pro plans (100 MB; a larger body gets the platform's 413 before any Worker runs: developers.cloudflare.com
// /workers/platform/limits), so in production every body that reaches a Worker is drained. A lower bound
// was tried first (4 × the cap, at least 1 MiB): a new-user trial then saw chunked 5–20 MB bodies get a
// reset or an empty reply instead of the 413, the client still sending when the connection closed.

/** Cloudflare's request-body limit on the Free and Pro plans, bytes (Business 200 MB, Enterprise more). */
export const PLATFORM_MAX_BODY_BYTES = 100_000_000;

/** Bytes past which an over-cap body is no longer read to its end before the 413: max(4 × the cap, PLATFORM_MAX_BODY_BYTES). */
export const drainBytesFor = (maxBytes: number): number => Math.max(4 * maxBytes, PLATFORM_MAX_BODY_BYTES);

async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, already: number, drainBytes: number): Promise<void> {
  let size = already;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    size += value.byteLength;
    if (size > drainBytes) return void (await reader.cancel().catch(() => {}));
  }
}

/**
 * Middleware: 413 `payload_too_large` (field `body`) when a body declares (content-length) or sends
 * (chunked) more than `maxBytes` bytes, before any handler reads it; the over-cap body is read and
 * discarded up to `drainBytes` first, so the client has finished sending when the 413 arrives. A chunked
 * body within the cap is buffered (at most maxBytes) and handed on as the request's body; requests
 * without a body pass untouched.
 */
export function bodyLimitMiddleware(maxBytes: number, drainBytes = drainBytesFor(maxBytes)): MiddlewareHandler {
  const refuse = (c: Parameters<MiddlewareHandler>[0]) => c.json(errorBody("payload_too_large", `body over ${maxBytes} bytes`, "body"), 413);
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.raw.headers.get("content-length");
    if (declared !== null && !c.req.raw.headers.has("transfer-encoding")) {
      const n = Number(declared);
      if (!(n > maxBytes)) return next(); // the runtime holds the body to its declared length
      if (n <= drainBytes) await discard(body.getReader(), 0, drainBytes).catch(() => {});
      return refuse(c);
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        chunks.length = 0;
        await discard(reader, size, drainBytes).catch(() => {});
        return refuse(c);
      }
      chunks.push(value);
    }
    const buffer = new Uint8Array(size);
    let at = 0;
    for (const ch of chunks) {
      buffer.set(ch, at);
      at += ch.byteLength;
    }
    c.req.raw = new Request(c.req.raw, { body: buffer });
    return next();
  };
}
