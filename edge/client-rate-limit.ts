import type { MiddlewareHandler } from "hono";
import { ApiError } from "../shared/errors.ts";
import type { EdgeEnv } from "./app-env.ts";
import { requestSession } from "./session.ts";

// Per-client rate limit on the public API through Cloudflare's Rate Limiting binding (a kept platform
// feature rather than our own counters): one budget per signed-in user (verified session token), else per
// client IP (cf-connecting-ip, set by Cloudflare). Keying on the verified user keeps users behind one
// carrier NAT from sharing a budget; an invalid token counts against its IP, so minting fake tokens
// buys no fresh budgets.
// Locally every client is 127.0.0.1, so `npm start` and the end-to-end stack switch it off with
// CLIENT_RATE_LIMIT=off; the workerd tests run it with a real binding.
export const clientRateLimit: MiddlewareHandler<EdgeEnv> = async (c, next) => {
  const limiter = c.env.CLIENT_LIMIT;
  if (limiter && c.env.CLIENT_RATE_LIMIT !== "off") {
    const session = await requestSession(c).catch(() => null);
    const key = session ? `user:${session.userId}` : `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
    const { success } = await limiter.limit({ key });
    if (!success) throw new ApiError(429, "rate_limited", "too many requests from this client; slow down", undefined, { "retry-after": "10" });
  }
  await next();
};
