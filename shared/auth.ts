import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { ApiError } from "./errors.ts";
import { RegionSchema, type Region } from "./regions.ts";

// Session tokens: HS256 JWT with sub = user id ("u123"), region = the user's home region, and the
// registered time claims. Verification is jose's `jwtVerify` (RFC 7519 §4.1): `exp` and `iat` are
// required, `exp`/`nbf`/`iat` are checked with a small clock-skew allowance (the mainstream verifiers
// allow one: Spring Security 60 s, .NET 5 min, jsonwebtoken/jose configurable), and a token may not
// live longer than the configured lifetime, counted from `iat` (jose `maxTokenAge`) and as `exp − iat`.

/** Defaults: 60 s of clock skew; at most 7 days between `iat` and `exp`. */
export const SESSION_DEFAULTS = { clockToleranceS: 60, maxLifetimeS: 7 * 86_400 } as const;
export interface SessionVerifyOptions {
  /** Allowed clock difference in seconds for exp / nbf / iat. */
  clockToleranceS?: number;
  /** Longest accepted token lifetime in seconds (exp − iat, and age since iat). */
  maxLifetimeS?: number;
}

const ClaimsSchema = z.object({
  sub: z.string().regex(/^u[1-9][0-9]{0,17}$/),
  region: RegionSchema,
  exp: z.number(),
  iat: z.number(),
});
export interface Session {
  userId: string;
  homeRegion: Region;
}

const key = (secret: string) => new TextEncoder().encode(secret);

/** HS256 token for `userId` living in `region`, valid `ttlSeconds` from now (negative = already expired). */
export async function mintSessionToken(secret: string, userId: string, region: Region, ttlSeconds = 86_400): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ region })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key(secret));
}

const unauthorized = (message: string) => new ApiError(401, "unauthorized", message, "authorization");

/**
 * Authorization header → session; null when absent. Throws ApiError 401 (field `authorization`) for a
 * malformed header, a bad signature or algorithm, a missing `exp`/`iat`, an expired or not-yet-valid
 * token, a lifetime over `maxLifetimeS`, or claims that are not a user id and a region.
 */
export async function sessionFromHeader(header: string | undefined | null, secret: string, opts: SessionVerifyOptions = {}): Promise<Session | null> {
  if (!header) return null;
  const m = /^Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)$/.exec(header.trim());
  if (!m) throw unauthorized("malformed Authorization header");
  const tolerance = opts.clockToleranceS ?? SESSION_DEFAULTS.clockToleranceS;
  const maxLifetime = opts.maxLifetimeS ?? SESSION_DEFAULTS.maxLifetimeS;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(m[1], key(secret), {
      algorithms: ["HS256"],
      requiredClaims: ["exp", "iat", "sub"],
      clockTolerance: tolerance,
      maxTokenAge: maxLifetime,
    }));
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) throw unauthorized("token expired");
    if (e instanceof joseErrors.JWTClaimValidationFailed) throw unauthorized(`token claim ${e.claim} invalid: ${e.reason}`);
    throw unauthorized("invalid token");
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized("token claims invalid");
  if (claims.data.exp - claims.data.iat > maxLifetime) throw unauthorized(`token lifetime over ${maxLifetime} s`);
  return { userId: claims.data.sub, homeRegion: claims.data.region };
}
