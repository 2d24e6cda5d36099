import { ApiError } from "../shared/errors.ts";

// Opaque, tamper-proof feed cursor: base64url(JSON{c: chain id, o: offset, u: user}) "." HMAC-SHA256/128.
// A cursor names a ranked chain stored in Redis; pages are slices of it, so a chain never repeats a video.

export interface Cursor {
  chain: string;
  offset: number;
  user: string;
}

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, k);
  }
  return k;
}

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
function fromB64url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (ch) => ch.charCodeAt(0));
}

async function mac(secret: string, body: string): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), enc.encode(body)));
  return b64url(sig.subarray(0, 16));
}

export async function encodeCursor(secret: string, c: Cursor): Promise<string> {
  const body = b64url(enc.encode(JSON.stringify({ c: c.chain, o: c.offset, u: c.user })));
  return `${body}.${await mac(secret, body)}`;
}

export async function decodeCursor(secret: string, s: string, user: string): Promise<Cursor> {
  const bad = (why: string) => new ApiError(400, "invalid_cursor", why, "cursor");
  const [body, sig, ...rest] = s.split(".");
  if (!body || !sig || rest.length) throw bad("malformed cursor");
  if ((await mac(secret, body)) !== sig) throw bad("cursor signature mismatch");
  let o: { c?: unknown; o?: unknown; u?: unknown };
  try {
    o = JSON.parse(new TextDecoder().decode(fromB64url(body)));
  } catch {
    throw bad("malformed cursor");
  }
  if (typeof o.c !== "string" || typeof o.o !== "number" || !Number.isInteger(o.o) || o.o < 0 || typeof o.u !== "string")
    throw bad("malformed cursor");
  if (o.u !== user) throw bad("cursor belongs to another session");
  return { chain: o.c, offset: o.o, user: o.u };
}
