import { ApiError } from "./errors.ts";

// Reads a request body as JSON with a size cap: 413 when it is too large (checked against the declared
// content-length first, then the received text), 400 when it is not JSON. Every JSON endpoint of the
// edge and the origins goes through here so they reject bad bodies the same way.
/** Cap for edge → origin internal calls (an events batch is at most 100 events). */
export const INTERNAL_MAX_BODY_BYTES = 1 << 20;

export interface BodySource {
  text(): Promise<string>;
  header(name: string): string | undefined;
}

export async function readJsonBody(req: BodySource, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new ApiError(413, "payload_too_large", `body over ${maxBytes} bytes`, "body");
  if (Number(req.header("content-length") ?? "0") > maxBytes) throw tooLarge();
  const text = await req.text();
  if (text.length > maxBytes) throw tooLarge();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "body is not valid JSON", "body");
  }
}
