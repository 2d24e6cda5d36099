import type { Context, MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** What these helpers need of a worker's Hono environment: the request id (edge/request-id.ts). */
type WithRequestId = { Variables: { requestId: string } };

// The headers every response of the edge's workers carries (the API worker, edge/app.ts, and the pages
// worker, edge/web-worker.ts), decided in one place: the request id, the security headers
// (hono/secure-headers) and, on the API (/v1/*), the two CORS headers of a simple request (preflights are
// answered by hono/cors in edge/app.ts).
//
// Why not three middlewares setting them on `c.res` after the handler (as before): each Headers.set is a
// call into the runtime, and a cache HIT paid ~14 of them after building its Response (issue 13: a workerd
// CPU profile of anonymous HITs had the security headers' setHeaders at 4.5% and Headers.set/Response at
// another ~11%). The hot read routes now build their Response once, its fixed headers copied natively from
// a per-isolate Headers object (`apiResponse`); `finalHeaders` leaves those alone and sets the same headers
// on every other response.
//
// The security headers' names and values are hono/secure-headers' own: the middleware is run once per
// isolate against an empty Response and its result kept for `apiResponse`, so its defaults stay the
// library's; every other response gets them from the middleware itself.

const SECURE_OPTIONS = { crossOriginResourcePolicy: "cross-origin" } as const;
/** Response headers a browser client may read (CORS exposed headers). */
export const API_EXPOSE_HEADERS = ["x-request-id", "x-cache", "x-fyp-source", "x-region", "x-degradation-level", "server-timing", "retry-after"];
const CORS_HEADERS: Record<string, string> = { "access-control-allow-origin": "*", "access-control-expose-headers": API_EXPOSE_HEADERS.join(",") };

const security = secureHeaders(SECURE_OPTIONS);
/**
 * The fixed part of an API / a page response's headers (security + CORS / security), as Headers objects the
 * runtime copies natively: built once per isolate when the capture below has run (a microtask).
 */
let base: { api: Headers; page: Headers } | null = null;
void (async () => {
  const probe = { res: new Response(null), get: () => undefined, set: () => {} };
  await security(probe as unknown as Context, async () => {});
  const api = new Headers(probe.res.headers);
  for (const k in CORS_HEADERS) api.set(k, CORS_HEADERS[k]);
  base = { api, page: new Headers(probe.res.headers) };
})();

/** Responses built by `apiResponse` with every header already in place. */
const complete = new WeakSet<Response>();

const isApi = (path: string) => path.startsWith("/v1/");

/**
 * A Response with `headers` plus the request id, the security headers and (on /v1/*) CORS: the fixed ones
 * copied from a per-isolate Headers object, the request's own set on the copy. Before the per-isolate
 * capture of the security headers has run (the first request's microtask), it is an ordinary Response and
 * `finalHeaders` completes it.
 */
export function apiResponse<E extends WithRequestId>(ctx: Context<E>, body: string, status: number, headers: Record<string, string>): Response {
  const c = ctx as unknown as Context<WithRequestId>;
  if (!base) return new Response(body, { status, headers });
  const h = new Headers(isApi(c.req.path) ? base.api : base.page);
  h.set("x-request-id", c.get("requestId"));
  for (const k in headers) h.set(k, headers[k]);
  const res = new Response(body, { status, headers: h });
  complete.add(res);
  return res;
}

/**
 * Middleware (outermost): a response `apiResponse` did not build gets the request id, CORS (/v1/*, not on
 * preflights, which hono/cors answers with its own) and the security headers (hono/secure-headers run on it).
 */
export const finalHeaders: MiddlewareHandler<WithRequestId> = async (c, next) => {
  await next();
  if (complete.has(c.res)) return;
  const set = (h: Headers) => {
    h.set("x-request-id", c.get("requestId"));
    if (isApi(c.req.path) && c.req.method !== "OPTIONS") for (const k in CORS_HEADERS) h.set(k, CORS_HEADERS[k]);
  };
  try {
    set(c.res.headers);
  } catch {
    c.res = new Response(c.res.body, c.res); // immutable headers (a response passed through as fetched)
    set(c.res.headers);
  }
  await security(c, async () => {});
};
