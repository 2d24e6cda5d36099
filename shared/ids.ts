// Public ids are prefixed strings ("u123", "v456"); storage uses bigint. Parsing is strict so a bad id is
// a 4xx at the boundary, never a database error later.
const ID_RE = /^[1-9][0-9]{0,17}$/;

export function formatUserId(id: bigint | number | string): string {
  return `u${id}`;
}
export function formatVideoId(id: bigint | number | string): string {
  return `v${id}`;
}

function parsePrefixed(prefix: string, s: string): bigint | null {
  if (typeof s !== "string" || !s.startsWith(prefix)) return null;
  const digits = s.slice(prefix.length);
  if (!ID_RE.test(digits)) return null;
  const n = BigInt(digits);
  return n <= 9223372036854775807n ? n : null;
}

export const parseUserId = (s: string) => parsePrefixed("u", s);
export const parseVideoId = (s: string) => parsePrefixed("v", s);
