import type { Context } from "hono";
import type { Session } from "../shared/auth.ts";
import type { EdgeEnv } from "./app-env.ts";
import { edgeConfig } from "./env.ts";
import { cachedSessionFromHeader } from "./session-cache.ts";

/**
 * The request's session (null when anonymous), verified once per request and shared by the rate limiter
 * and the routes (and remembered per isolate until the token expires: edge/session-cache.ts). Rejects with the 401 ApiError for a bad token, for whoever awaits it.
 */
export function requestSession(c: Context<EdgeEnv>): Promise<Session | null> {
  let p = c.get("session");
  if (!p) {
    const cfg = edgeConfig(c.env);
    p = cachedSessionFromHeader(c.req.header("authorization"), cfg.SESSION_SECRET, {
      maxLifetimeS: cfg.SESSION_MAX_LIFETIME_S,
      clockToleranceS: cfg.SESSION_CLOCK_SKEW_S,
    });
    p.catch(() => {}); // awaited (and reported) by the route, not here
    c.set("session", p);
  }
  return p;
}
