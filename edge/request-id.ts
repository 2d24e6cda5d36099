import type { MiddlewareHandler } from "hono";

// The request id of DESIGN §2, for the API worker and the pages worker alike: a client's `x-request-id` is
// kept when it looks like one (8–64 of [A-Za-z0-9_-]), else a fresh UUID. hono/request-id has a similar
// middleware but accepts ids of any length from 1 character and sets the header itself on `c.res`; ours
// leaves the header to edge/response-headers.ts, which sets every fixed header in one step.

const ID = /^[A-Za-z0-9_\-]{8,64}$/;

/** The id of a request: its own `x-request-id` when well-formed, else a new UUID. */
export function requestIdOf(incoming: string | undefined): string {
  return incoming && ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** Middleware: `requestId` (the id above) and `t0` (performance.now() at arrival, for server-timing). */
export const requestIdMiddleware: MiddlewareHandler<{ Variables: { requestId: string; t0: number } }> = async (c, next) => {
  c.set("requestId", requestIdOf(c.req.header("x-request-id")));
  c.set("t0", performance.now());
  await next();
};
