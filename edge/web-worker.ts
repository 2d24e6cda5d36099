import type { Fetcher } from "@cloudflare/workers-types";
import { Hono } from "hono";
import { errorBody, handleError, notFound } from "../shared/errors.ts";
import { methodAwareNotFound } from "../shared/method-not-allowed.ts";
import { requestIdMiddleware } from "./request-id.ts";
import { isApiPath } from "./api-paths.ts";
import { finalHeaders, markComplete } from "./response-headers.ts";
import { withStaticAssets } from "./static-assets.ts";

// The pages worker (wrangler.web.toml): the web client (/) and the ops page (/ops), static assets built from
// web/ into public/, under the same HTTP contract as the API (request id, security headers, JSON 404/405).
//
// Why a worker of its own (issue 13, edge hit path): a worker with [assets] sits behind the static-assets
// router, which roughly halved a constant worker's throughput on this box (bench/runtime-floor.ts); the API
// worker (edge/index.ts) has no assets, so its cache HITs do not pay for pages. In production both serve one
// hostname: `npm run deploy` routes the API's paths (edge/api-paths.ts) to the API worker and everything else here,
// so the pages call /v1/* on their own origin. Locally each worker has its own port and API_ORIGIN (the API
// worker's URL) makes this worker forward the API's paths there, so the pages still call /v1/* on theirs.

export interface WebBindings {
  /** The web client and ops page (wrangler.web.toml [assets]). */
  ASSETS?: Fetcher;
  /** Where the API worker answers, for a local stack (e.g. http://127.0.0.1:8787); empty in production. */
  API_ORIGIN?: string;
}
export type WebEnv = { Bindings: WebBindings; Variables: { requestId: string; t0: number } };

/** How long a forwarded API call may take (ms): the API's own longest answer (a feed read) is under 5 s. */
const FORWARD_TIMEOUT_MS = 10_000;

export const webApp = new Hono<WebEnv>();
webApp.onError((err, c) => handleError(err, c));
webApp.notFound(withStaticAssets(methodAwareNotFound(webApp, notFound)));
webApp.use("*", requestIdMiddleware);
webApp.use("*", finalHeaders("pages"));
// Local stacks only: the API's paths go on to the API worker, the request id with them (one id per request).
webApp.use("*", async (c, next) => {
  const api = c.env.API_ORIGIN;
  if (!api || !isApiPath(c.req.path)) return next();
  const url = new URL(c.req.url);
  const headers = new Headers(c.req.raw.headers);
  headers.set("x-request-id", c.get("requestId"));
  // Uncompressed from the API worker: relayed as it comes, so a client that asked for no encoding gets none
  // (with the client's own accept-encoding passed on, the runtime decoded the API's brotli answer and
  // encoded it again for a client that had not asked for it). This hop is local only.
  headers.set("accept-encoding", "identity");
  try {
    const res = await fetch(`${api.replace(/\/$/, "")}${url.pathname}${url.search}`, {
      // The API's bodies are small (an events batch at most): read whole, not streamed.
      method: c.req.method, headers, body: c.req.method === "GET" || c.req.method === "HEAD" ? undefined : await c.req.raw.arrayBuffer(),
      redirect: "manual", signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    c.res = markComplete(new Response(res.body, res)); // the API worker's headers (its request id, security, CORS)
  } catch (e) {
    c.res = c.json(errorBody("api_unreachable", `the API worker at ${api} did not answer: ${(e as Error).message}`), 502);
  }
});

export default { fetch: webApp.fetch };
