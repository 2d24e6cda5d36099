import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";

// The one error shape of the public contract: {"error": {"code", "message", "field"?}}.
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly field?: string;
  readonly headers?: Record<string, string>;
  constructor(status: ContentfulStatusCode, code: string, message: string, field?: string, headers?: Record<string, string>) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.headers = headers;
  }
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

/** First zod issue → ApiError naming the field (dotted path) and the problem. */
export function fromZodError(err: z.ZodError, prefix = ""): ApiError {
  const issue = err.issues[0];
  const segments = issue?.path.map(String) ?? [];
  // An unknown key in a closed object: name the key itself, not its parent.
  if (issue?.code === "unrecognized_keys" && issue.keys.length) segments.push(issue.keys[0]);
  const path = segments.join(".");
  const field = prefix && path ? `${prefix}.${path}` : prefix || path || undefined;
  return new ApiError(400, "invalid_request", issue?.message ?? "invalid request", field);
}

/** Hono onError: ApiError → its status; anything else → 500 without internals (never a stack trace). */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    if (err.headers) for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
    return c.json(errorBody(err.code, err.message, err.field), err.status);
  }
  if (err instanceof z.ZodError) {
    const e = fromZodError(err);
    return c.json(errorBody(e.code, e.message, e.field), e.status);
  }
  console.error("unhandled", err?.message ?? String(err));
  return c.json(errorBody("internal", "internal error"), 500);
}

export function notFound(c: Context): Response {
  return c.json(errorBody("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404);
}
