// Predicts where Postgres puts a `users` row: `PARTITION BY HASH (user_id)` with MODULUS 64 (schema.ts).
// The app routes by shard/partition without asking the database, so this must agree with Postgres bit
// for bit (test/integration/shard-router.test.ts checks it against a real server).
//
// Postgres (partbounds.c compute_partition_hash_value) computes, for one bigint key:
//   h       = hashint8extended(user_id, HASH_PARTITION_SEED)            -- 64-bit
//   rowHash = hash_combine64(0, h) = h + 0x49a0f4dd15e5a8e3  (mod 2^64)  -- a=0 kills the shift terms
//   partition = rowHash % 64
// hashint8extended folds the int64 into 32 bits (lo ^ hi, or lo ^ ~hi for negatives — so values that fit
// in int4 hash like int4) and calls hash_bytes_uint32_extended(k, seed), Bob Jenkins' lookup3 mix/final.
// Its result is (b << 32) | c. Because 64 divides 2^32, `rowHash % 64` only depends on the low 32 bits,
// i.e. on c + 0x15e5a8e3, so everything below is plain uint32 arithmetic — no BigInt on the hot path.
import { PARTITIONS_PER_SHARD, USER_PARTITIONS, partitionTableName } from "./schema.ts";

const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

// hash_bytes_uint32_extended's initial state for a non-zero seed: a = b = c = 0x9e3779b9 + 4 + 3923095,
// then a += seed >> 32, b += (uint32) seed, mix(a, b, c). The seed is the constant HASH_PARTITION_SEED
// (0x7A5B22367996DCFD), so this prefix is computed once at module load.
const [A0, B0, C0] = (() => {
  const init = (0x9e3779b9 + 4 + 3923095) >>> 0;
  let a = (init + 0x7a5b2236) >>> 0;
  let b = (init + 0x7996dcfd) >>> 0;
  let c = init;
  // mix(a, b, c)
  a = (a - c) >>> 0; a = (a ^ rot(c, 4)) >>> 0; c = (c + b) >>> 0;
  b = (b - a) >>> 0; b = (b ^ rot(a, 6)) >>> 0; a = (a + c) >>> 0;
  c = (c - b) >>> 0; c = (c ^ rot(b, 8)) >>> 0; b = (b + a) >>> 0;
  a = (a - c) >>> 0; a = (a ^ rot(c, 16)) >>> 0; c = (c + b) >>> 0;
  b = (b - a) >>> 0; b = (b ^ rot(a, 19)) >>> 0; a = (a + c) >>> 0;
  c = (c - b) >>> 0; c = (c ^ rot(b, 4)) >>> 0; b = (b + a) >>> 0;
  return [a, b, c] as const;
})();

/** Low 32 bits of hash_combine64(0, hashint8extended(v, HASH_PARTITION_SEED)), given k = folded int64. */
function rowHashLow32(k: number): number {
  let a = (A0 + k) >>> 0;
  let b = B0;
  let c = C0;
  // final(a, b, c)
  c = (c ^ b) >>> 0; c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 24)) >>> 0;
  return (c + 0x15e5a8e3) >>> 0; // low half of + 0x49a0f4dd15e5a8e3
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const TWO32 = 4294967296;

/** hashint8extended's fold: lohalf ^= (val >= 0) ? hihalf : ~hihalf. */
function foldInt64(userId: bigint | number | string): number {
  if (typeof userId === "number") {
    // Fast path: every safe integer splits exactly into hi/lo 32-bit words with float math.
    if (!Number.isSafeInteger(userId)) throw new RangeError(`user id must be a safe integer (got ${userId})`);
    const hi = Math.floor(userId / TWO32);
    const lo = userId - hi * TWO32; // 0 ≤ lo < 2^32
    return (lo ^ (userId >= 0 ? hi : ~hi)) >>> 0;
  }
  let v: bigint;
  if (typeof userId === "bigint") v = userId;
  else {
    if (!/^-?[0-9]+$/.test(userId)) throw new RangeError(`user id must be an integer (got ${JSON.stringify(userId)})`);
    v = BigInt(userId);
  }
  if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`user id out of bigint range (got ${v})`);
  if (v >= -9007199254740991n && v <= 9007199254740991n) return foldInt64(Number(v));
  const lo = Number(BigInt.asUintN(32, v));
  const hi = Number(BigInt.asIntN(32, v >> 32n)); // arithmetic shift, like C's val >> 32 on int64
  return (lo ^ (v >= 0n ? hi : ~hi)) >>> 0;
}

/** Hash partition (0 … 63) Postgres uses for this user_id. */
export function partitionOf(userId: bigint | number | string): number {
  return rowHashLow32(foldInt64(userId)) % USER_PARTITIONS;
}

/** Shard (0 … 7): shard k holds partitions 8k … 8k+7. */
export function shardOf(userId: bigint | number | string): number {
  return Math.floor(partitionOf(userId) / PARTITIONS_PER_SHARD);
}

/** Schema-qualified partition table, e.g. "shard_3.users_p27". */
export function partitionTable(userId: bigint | number | string): string {
  return partitionTableName(partitionOf(userId));
}
