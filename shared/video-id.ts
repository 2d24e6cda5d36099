import { REGION_VALUES, type Region } from "./regions.ts";

// Video ids for uploads, assigned at the edge without coordination (the id must exist before the write
// lands, so a queued upload can be answered with its id and redelivered idempotently):
//
//   id = (ms since 2025-01-01) · 2^20 + region index · 2^18 + 18 random bits
//
// Ids grow with time, differ between regions, and two uploads in the same millisecond and region collide
// with probability 2^-18 (the origin refuses a taken id with 409 and the edge draws again). They stay
// below 10^18 (the public id format v + ≤ 18 digits) until about 2055, and far above the seeded 1…N.
export const VIDEO_ID_EPOCH_MS = Date.UTC(2025, 0, 1);
const RANDOM_BITS = 18n;

export function newVideoId(region: Region, nowMs = Date.now(), random = crypto.getRandomValues(new Uint32Array(1))[0]): bigint {
  const ms = BigInt(Math.max(0, Math.floor(nowMs - VIDEO_ID_EPOCH_MS)));
  const r = BigInt(REGION_VALUES.indexOf(region));
  return (ms << 20n) | (r << RANDOM_BITS) | BigInt(random & ((1 << Number(RANDOM_BITS)) - 1));
}

/** Upload region and mint time (ms) of an id of newVideoId; null for a seeded id (below 2^20) or a region index no region has. */
export function uploadOrigin(id: bigint): { region: Region; mintedAt: number } | null {
  if (id < 1n << 20n) return null;
  const region = REGION_VALUES[Number((id >> RANDOM_BITS) & 3n)];
  if (!region) return null;
  return { region, mintedAt: VIDEO_ID_EPOCH_MS + Number(id >> 20n) };
}
