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

/**
 * Security headers of the API worker's responses (JSON, plus the emergency page): the set the OWASP REST
 * Security Cheat Sheet lists for APIs — HSTS, nosniff, framing refused (X-Frame-Options DENY and CSP
 * frame-ancestors 'none') — and CORP cross-origin so other sites' clients may read the API. The browser-page
 * headers of hono's defaults (X-XSS-Protection, X-Download-Options, Origin-Agent-Cluster, X-DNS-Prefetch-Control,
 * X-Permitted-Cross-Domain-Policies, COOP, Referrer-Policy) are for documents: 7 fewer headers to build and
 * send on every API answer.
 */
const API_SECURITY: Parameters<typeof secureHeaders>[0] = {
  crossOriginResourcePolicy: "cross-origin", xFrameOptions: "DENY", contentSecurityPolicy: { frameAncestors: ["'none'"] },
  crossOriginOpenerPolicy: false, originAgentCluster: false, referrerPolicy: false, xDnsPrefetchControl: false,
  xDownloadOptions: false, xPermittedCrossDomainPolicies: false, xXssProtection: false,
};
/** Security headers of the pages (web client, ops page): hono/secure-headers' defaults for documents. */
const PAGE_SECURITY: Parameters<typeof secureHeaders>[0] = { crossOriginResourcePolicy: "cross-origin" };
/** Response headers a browser client may read (CORS exposed headers). */
export const API_EXPOSE_HEADERS = ["x-request-id", "x-cache", "x-fyp-source", "x-region", "x-degradation-level", "server-timing", "retry-after"];
const CORS_HEADERS: Record<string, string> = { "access-control-allow-origin": "*", "access-control-expose-headers": API_EXPOSE_HEADERS.join(",") };

const security = { api: secureHeaders(API_SECURITY), pages: secureHeaders(PAGE_SECURITY) };
/**
 * The fixed part of an API answer's headers (the API's security headers + CORS), as a Headers object the
 * runtime copies natively: built once per isolate when the capture below has run (a microtask).
 */
let base: Headers | null = null;
void (async () => {
  const probe = { res: new Response(null), get: () => undefined, set: () => {} };
  await security.api(probe as unknown as Context, async () => {});
  const h = new Headers(probe.res.headers);
  for (const k in CORS_HEADERS) h.set(k, CORS_HEADERS[k]);
  base = h;
})();

/** Responses built by `apiResponse` (or relayed from the API worker) with every header already in place. */
const complete = new WeakSet<Response>();
/** `res` carries every header already (an API answer the pages worker relays as the API worker sent it). */
export function markComplete(res: Response): Response {
  complete.add(res);
  return res;
}

/**
 * An API answer (/v1/*) with `headers` plus the request id, the API's security headers and CORS: the fixed
 * ones copied from a per-isolate Headers object, the request's own set on the copy. Before the per-isolate
 * capture of the security headers has run (the first request's microtask), it is an ordinary Response and
 * `finalHeaders("api")` completes it.
 */
export function apiResponse<E extends WithRequestId>(ctx: Context<E>, body: string, status: number, headers: Record<string, string>): Response {
  const c = ctx as unknown as Context<WithRequestId>;
  if (!base) return new Response(body, { status, headers });
  const h = new Headers(base);
  h.set("x-request-id", c.get("requestId"));
  for (const k in headers) h.set(k, headers[k]);
  const res = new Response(body, { status, headers: h });
  complete.add(res);
  return res;
}

/**
 * Middleware (outermost) of a worker ("api": edge/app.ts, "pages": edge/web-worker.ts): a response
 * `apiResponse` did not build gets the request id, on the API worker CORS (not on preflights, which
 * hono/cors answers with its own), and that worker's security headers (hono/secure-headers run on it).
 */
export function finalHeaders(kind: "api" | "pages"): MiddlewareHandler<WithRequestId> {
  const secure = security[kind];
  return async (c, next) => {
    await next();
    if (complete.has(c.res)) return;
    const set = (h: Headers) => {
      h.set("x-request-id", c.get("requestId"));
      // Every API worker answer (/openapi.json and /healthz too: readable from other origins); never a page.
      if (kind === "api" && c.req.method !== "OPTIONS") for (const k in CORS_HEADERS) h.set(k, CORS_HEADERS[k]);
    };
    try {
      set(c.res.headers);
    } catch {
      c.res = new Response(c.res.body, c.res); // immutable headers (a response passed through as fetched)
      set(c.res.headers);
    }
    await secure(c, async () => {});
  };
}
