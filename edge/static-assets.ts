import type { NotFoundHandler } from "hono";
import { methodNotAllowed } from "../shared/method-not-allowed.ts";
import { isApiPath } from "./api-paths.ts";
import type { WebEnv } from "./web-worker.ts";

// The web client (/, /index.html) and the ops page (/ops, /ops.html) plus their scripts and styles are static
// assets of the pages worker (wrangler.web.toml [assets], built from web/ into public/; edge/web-worker.ts).
// The worker runs first for every request (`run_worker_first = true`), so pages answer under the same HTTP
// contract as the API (DESIGN §2): an `x-request-id` and the security headers on every response, and a wrong
// method is the JSON 405 with `Allow` (the assets layer alone answers DELETE / with an empty 405 and no
// Allow). The assets are reached through the ASSETS binding, for paths no worker route answered, never for
// the API's paths (edge/api-paths.ts: they are the API worker's).

const READS = new Set(["GET", "HEAD"]);
const ASSET_METHODS = ["GET", "HEAD"];

/**
 * Wraps the worker's notFound handler: for a path with no worker route, GET/HEAD are answered by
 * `env.ASSETS` (200, 304 for a matching If-None-Match, 307 for /index.html → /, with headers made mutable
 * so the middlewares can add theirs); any other method on an existing asset is 405 `method_not_allowed`
 * with `Allow: GET, HEAD`. Everything else (no asset, an API path, no ASSETS binding) goes to `next`.
 */
export function withStaticAssets(next: NotFoundHandler<WebEnv>): NotFoundHandler<WebEnv> {
  return async (c) => {
    const assets = c.env.ASSETS;
    if (!assets || isApiPath(c.req.path)) return next(c);
    if (READS.has(c.req.method)) {
      const res = (await assets.fetch(c.req.raw as never)) as unknown as Response;
      if (res.status !== 404) return new Response(res.body, res);
      await res.body?.cancel();
      return next(c);
    }
    const probe = (await assets.fetch(new Request(c.req.url, { method: "HEAD" }) as never)) as unknown as Response;
    await probe.body?.cancel();
    return probe.status === 404 ? next(c) : methodNotAllowed(c, ASSET_METHODS);
  };
}
