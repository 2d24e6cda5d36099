import { decodeJwt } from "jose";
import { type Session, SESSION_DEFAULTS, type SessionVerifyOptions, sessionFromHeader } from "../shared/auth.ts";
import { IsolateCache, stringBytes } from "./isolate-cache.ts";

// Verified sessions per isolate (issue 13, edge hit path): an HS256 verification (key import + HMAC over
// WebCrypto + claim checks) on every request costs more than a memory-tier cache hit, and a signed-in
// client sends the same token with every request. A token verified once is remembered, keyed by the whole
// Authorization header, until the moment shared/auth.ts would stop accepting it (its `exp`, or `iat` +
// the longest lifetime, whichever is first), and at most SESSION_CACHE.maxMs. Rejections are not
// remembered: a bad token is verified (and refused) every time.

export const SESSION_CACHE = { maxEntries: 20_000, maxBytes: 8 * 1024 * 1024, maxMs: 10 * 60_000 } as const;
const verified = new IsolateCache<Session>({ ...SESSION_CACHE, maxEntryBytes: 64 * 1024 });

/** Entries and hit counters (tests, /v1/status). */
export const sessionCacheStats = () => ({ entries: verified.size, hits: verified.hits, misses: verified.misses });
export const clearSessionCache = () => verified.clear();

/**
 * shared/auth.ts `sessionFromHeader` with a per-isolate memo of successful verifications: the same
 * Session (or null without a header), and the same 401 ApiError for a bad token. The key is the secret
 * and the header: a token is never taken as verified under another secret.
 */
export async function cachedSessionFromHeader(header: string | undefined | null, secret: string, opts: SessionVerifyOptions = {}, now = Date.now()): Promise<Session | null> {
  if (!header) return null;
  const key = `${secret}\n${header}`;
  const known = verified.get(key, now);
  if (known) return known;
  const session = await sessionFromHeader(header, secret, opts);
  if (!session) return null;
  const claims = decodeJwt(header.trim().slice("Bearer ".length));
  const maxLifetime = opts.maxLifetimeS ?? SESSION_DEFAULTS.maxLifetimeS;
  const until = Math.min(Number(claims.exp) * 1000, (Number(claims.iat) + maxLifetime) * 1000, now + SESSION_CACHE.maxMs);
  verified.set(key, session, stringBytes(key) + 128, until, now);
  return session;
}
