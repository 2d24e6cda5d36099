// Packed 64-bit ids on the wire: video and author ids are Postgres bigints (seeded ids 1…N, upload ids up
// to ~10^18, shared/video-id.ts), beyond what a JSON number holds exactly (2^53). The rank-by-ids request
// (shared/rank-contract.ts) sends them as base64 of little-endian uint64 values: 8 bytes per id, decoded
// without a JSON string per id (parsing 5,000 id strings and hashing them into a Map cost ~2 ms; the
// packed form decodes in ~0.1 ms, measured in bench/rank.bench.ts's ids row).
//
// In memory an id is a pair of uint32 halves [lo, hi] in a Uint32Array (2 values per id), the form the
// ranking service's feature table indexes (gpu-inference/u64-index.ts). Pure: runs in workerd, Node and
// the browser (base64 through shared/f32-base64.ts's byte codec).
import { base64ToBytes, bytesToBase64 } from "./f32-base64.ts";

const TWO32 = 4294967296;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const MAX_U64 = (1n << 64n) - 1n;

/** Thrown by packIds for a string that is not a decimal uint64 (the caller's bug, not user input). */
export class IdFormatError extends RangeError {
  override name = "IdFormatError";
}

/** True for 1–20 ASCII digits (a candidate uint64; the value bound is checked when parsing). */
function isDigits(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 20) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Decimal id strings → [lo, hi] pairs (ids.length × 2 values). Throws IdFormatError naming the first id
 * that is not a decimal number in [0, 2^64).
 */
export function packIds(ids: readonly string[]): Uint32Array {
  const out = new Uint32Array(ids.length * 2);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (!isDigits(s)) throw new IdFormatError(`id ${i} (${JSON.stringify(String(s).slice(0, 40))}) is not a decimal uint64`);
    if (s.length <= 15) {
      const n = Number(s); // < 10^15 < 2^53: exact
      out[2 * i] = n >>> 0;
      out[2 * i + 1] = Math.floor(n / TWO32);
    } else {
      const b = BigInt(s);
      if (b > MAX_U64) throw new IdFormatError(`id ${i} (${s}) is larger than 2^64 - 1`);
      out[2 * i] = Number(b & 0xffffffffn);
      out[2 * i + 1] = Number(b >> 32n);
    }
  }
  return out;
}

/** The decimal string of the id whose halves are lo, hi (the inverse of packIds, canonical: no leading zeros). */
export function formatId(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO32 + lo); // < 2^53: exact as a double
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** [lo, hi] pairs → base64 of little-endian uint64 values. */
export function pairsToBase64(pairs: Uint32Array): string {
  if (LITTLE_ENDIAN) return bytesToBase64(new Uint8Array(pairs.buffer, pairs.byteOffset, pairs.byteLength));
  const out = new Uint8Array(pairs.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < pairs.length; i++) dv.setUint32(i * 4, pairs[i], true);
  return bytesToBase64(out);
}

/** Decimal id strings → base64 of little-endian uint64 values (throws IdFormatError like packIds). */
export const encodeIds = (ids: readonly string[]): string => pairsToBase64(packIds(ids));

/**
 * base64 of little-endian uint64 values → [lo, hi] pairs; null when the text is not base64 or its length
 * is not a whole number of 8-byte ids.
 */
export function decodeIds(b64: string): Uint32Array | null {
  const bytes = base64ToBytes(b64);
  if (!bytes || bytes.byteLength % 8 !== 0) return null;
  const n = bytes.byteLength >>> 2;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, true);
  return out;
}

/** Decimal strings of packed ids (tests, logs; the hot paths keep the pairs). */
export function unpackIds(pairs: Uint32Array): string[] {
  const out = new Array<string>(pairs.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = formatId(pairs[2 * i], pairs[2 * i + 1]);
  return out;
}
