import { ApiError } from "./errors.ts";

// Request bodies: JSON parsing with the contract's errors. Every service that reads a body mounts
// shared/body-limit.ts's `bodyLimitMiddleware` on all its routes (the size cap, whatever the framing);
// `readJsonBody` then parses, re-checking the byte length for callers that bypass the middleware.

/** Cap for edge → origin internal calls (an events batch is at most 100 events). */
export const INTERNAL_MAX_BODY_BYTES = 1 << 20;

const tooLarge = (maxBytes: number) => new ApiError(413, "payload_too_large", `body over ${maxBytes} bytes`, "body");

/**
 * True for a JSON media type: `application/json`, any case, with or without parameters
 * (`; charset=utf-8`), per RFC 8259 §11. Anything else (text/plain, a form, no header) is not JSON.
 */
export const isJsonContentType = (v: string | null | undefined): boolean => !!v && /^\s*application\/json\s*(;|$)/i.test(v);

/** 415 `unsupported_media_type`, field `content-type`: a JSON-body route got a body declared as something else. */
export const unsupportedMediaType = (got: string | null | undefined) =>
  new ApiError(415, "unsupported_media_type", `content-type must be application/json (got ${got ? JSON.stringify(got.slice(0, 100)) : "none"})`, "content-type");

/** 400 `invalid_request`, field `body`: every JSON body of the contract is an object (not null, an array, a number or a string). */
export const notAnObject = () => new ApiError(400, "invalid_request", "body must be a JSON object", "body");

/** True for a plain JSON object (the only top-level body shape any route takes). */
export const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export interface BodySource {
  text(): Promise<string>;
  header(name: string): string | undefined;
}

/**
 * Body → parsed JSON object. Throws ApiError 415 `unsupported_media_type` (field `content-type`) unless
 * the request says application/json, 413 over `maxBytes` (UTF-8 bytes), 400 `invalid_json` when it does
 * not parse and 400 `invalid_request` (field `body`) when it is not an object. Every JSON-body route of
 * the edge and the origins reads its body here, so the checks hold on all of them.
 */
export async function readJsonBody(req: BodySource, maxBytes: number): Promise<unknown> {
  const type = req.header("content-type");
  if (!isJsonContentType(type)) throw unsupportedMediaType(type);
  if (Number(req.header("content-length") ?? "0") > maxBytes) throw tooLarge(maxBytes);
  const text = await req.text();
  if (text.length > maxBytes || new TextEncoder().encode(text).byteLength > maxBytes) throw tooLarge(maxBytes);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "body is not valid JSON", "body");
  }
  if (!isJsonObject(v)) throw notAnObject();
  return v;
}
