import type { Context, Env, Hono, NotFoundHandler, Schema } from "hono";
import type { RouterRoute } from "hono/types";
import { errorBody } from "./errors.ts";

// 404 versus 405 (RFC 9110 §15.5.6): a path no route knows is 404 `not_found`; a known path asked with a
// method it does not serve is 405 with an `Allow` header listing the methods it does serve. Hono has no
// built-in for this. Its notFound handler runs when no route answered, so we ask the app's own router,
// at that moment, which methods have a real route (not middleware) for the path: order-independent, so
// routes registered later are covered too. Hono dispatches HEAD to GET handlers, so GET allows HEAD.

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** The methods with a real route for `path` (empty when none): e.g. ["GET", "HEAD"]. */
export function allowedMethods<E extends Env, S extends Schema, B extends string>(app: Hono<E, S, B>, path: string): string[] {
  const out = new Set<string>();
  for (const method of METHODS) {
    // Hono stores [handler, RouterRoute] per route; middleware (`use`) and `all` register as "ALL".
    const [matches] = app.router.match(method, path) as unknown as [[[unknown, RouterRoute], unknown][]];
    if (matches.some(([[, r]]) => r.method === method)) {
      out.add(method);
      if (method === "GET") out.add("HEAD");
    }
  }
  return [...out].sort();
}

/**
 * A notFound handler: 405 `method_not_allowed` with `Allow` when the path exists for other methods,
 * else `notFound(c)` (the service's own 404). Body: the contract's `{"error":{"code","message"}}`.
 */
export function methodAwareNotFound<E extends Env, S extends Schema, B extends string>(
  app: Hono<E, S, B>,
  notFound: (c: Context<E>) => Response | Promise<Response>,
): NotFoundHandler<E> {
  return (c) => {
    const allow = allowedMethods(app, c.req.path);
    if (allow.length === 0 || allow.includes(c.req.method)) return notFound(c);
    return methodNotAllowed(c, allow);
  };
}

/** 405 `method_not_allowed` for the request's method, with `Allow: <allow>` (e.g. ["GET", "HEAD"]). */
export function methodNotAllowed<E extends Env>(c: Context<E>, allow: string[]): Response {
  return c.json(errorBody("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow.join(", ")}`), 405, {
    allow: allow.join(", "),
  });
}
