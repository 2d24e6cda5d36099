import { sign, verify } from "hono/jwt";
import { z } from "zod";
import { ApiError } from "./errors.ts";
import { RegionSchema, type Region } from "./regions.ts";

// Session tokens: HS256 JWT with sub = user id ("u123") and region = the user's home region.
const ClaimsSchema = z.object({
  sub: z.string().regex(/^u[1-9][0-9]{0,17}$/),
  region: RegionSchema,
  exp: z.number().optional(),
});
export interface Session {
  userId: string;
  homeRegion: Region;
}

export async function mintSessionToken(secret: string, userId: string, region: Region, ttlSeconds = 86_400): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, region, iat: now, exp: now + ttlSeconds }, secret, "HS256");
}

/** Authorization header → session, null when absent, ApiError(401) when present but bad. */
export async function sessionFromHeader(header: string | undefined | null, secret: string): Promise<Session | null> {
  if (!header) return null;
  const m = /^Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)$/.exec(header.trim());
  if (!m) throw new ApiError(401, "unauthorized", "malformed Authorization header", "authorization");
  let payload: unknown;
  try {
    payload = await verify(m[1], secret, "HS256");
  } catch {
    throw new ApiError(401, "unauthorized", "invalid or expired token", "authorization");
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) throw new ApiError(401, "unauthorized", "token claims invalid", "authorization");
  return { userId: claims.data.sub, homeRegion: claims.data.region };
}
