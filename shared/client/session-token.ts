// Reads the claims of a session token on the client. No verification here — the edge verifies every
// request; the client only needs the user id (to scope its caches and event queue) and the home region
// (to show it). A token that does not decode is treated as absent rather than crashing the page.

export interface TokenClaims {
  userId: string;
  region: string | null;
  /** Expiry, epoch seconds, when present. */
  exp: number | null;
}

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=");
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function readTokenClaims(token: string | null | undefined): TokenClaims | null {
  if (!token) return null;
  const parts = token.trim().split(".");
  if (parts.length !== 3) return null;
  try {
    const p = JSON.parse(base64UrlDecode(parts[1])) as { sub?: unknown; region?: unknown; exp?: unknown };
    if (typeof p.sub !== "string" || !/^u[1-9][0-9]{0,17}$/.test(p.sub)) return null;
    return { userId: p.sub, region: typeof p.region === "string" ? p.region : null, exp: typeof p.exp === "number" ? p.exp : null };
  } catch {
    return null;
  }
}

/** `#token=...` (or `?token=`) from a page URL: how tests and `npm run token` links hand a session over. */
export function tokenFromUrl(url: string): string | null {
  const u = new URL(url);
  const fromHash = new URLSearchParams(u.hash.replace(/^#/, "")).get("token");
  return fromHash || u.searchParams.get("token") || null;
}
