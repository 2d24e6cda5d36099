import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, errorBody } from "./errors.ts";

// Request bodies: a size cap that holds whatever the framing (content-length or chunked), and JSON
// parsing with the contract's errors. Every service that reads a body mounts `bodyLimitMiddleware` on
// all its routes (hono/body-limit counts bytes as they stream in and stops at the cap, so a chunked
// body without content-length is never buffered whole); `readJsonBody` then parses, re-checking the
// byte length for callers that bypass the middleware.

/** Cap for edge → origin internal calls (an events batch is at most 100 events). */
export const INTERNAL_MAX_BODY_BYTES = 1 << 20;

const tooLarge = (maxBytes: number) => new ApiError(413, "payload_too_large", `body over ${maxBytes} bytes`, "body");

/**
 * Middleware: 413 `payload_too_large` (field `body`) once more than `maxBytes` bytes of body have been
 * declared (content-length) or received (chunked), before any handler reads it. Requests without a
 * body pass untouched.
 */
export function bodyLimitMiddleware(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => c.json(errorBody("payload_too_large", `body over ${maxBytes} bytes`, "body"), 413),
  });
}

export interface BodySource {
  text(): Promise<string>;
  header(name: string): string | undefined;
}

/** Body → parsed JSON. Throws ApiError 413 over `maxBytes` (UTF-8 bytes), 400 `invalid_json` otherwise. */
export async function readJsonBody(req: BodySource, maxBytes: number): Promise<unknown> {
  if (Number(req.header("content-length") ?? "0") > maxBytes) throw tooLarge(maxBytes);
  const text = await req.text();
  if (text.length > maxBytes || new TextEncoder().encode(text).byteLength > maxBytes) throw tooLarge(maxBytes);
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "body is not valid JSON", "body");
  }
}
