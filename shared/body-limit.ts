import type { MiddlewareHandler } from "hono";
import { errorBody } from "./errors.ts";

// The request-body size cap of every service that reads a body (edge, origins), whatever the framing.
//
// Why not hono/body-limit (used before): it answers 413 the moment the cap is passed and leaves the rest
// of the client's body unread. workerd then closes the connection while the client is still sending,
// so the client sees EPIPE / a reset instead of the 413 (seen in CI: a chunked 1 MiB + 64 KiB POST to
// an origin). The ranking service already reads such a body to its end before answering
// (gpu-inference/rank-listener.ts); this does the same, bounded: past `drainBytes` in all it stops
// reading and answers at once (a client sending gigabytes is not waited for).

/** Bytes past which an over-cap body is no longer read to its end before the 413 (default 4 × the cap, at least 1 MiB). */
export const drainBytesFor = (maxBytes: number): number => Math.max(4 * maxBytes, 1 << 20);

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
