// Open-addressing hash map from a uint64 id (as [lo, hi] uint32 halves, shared/u64-ids.ts) to a row
// number, for the feature table's id → row lookups. Linear probing over typed arrays, load factor ≤ 1/2,
// doubling when full. No deletion: the feature table never frees a row (a removed video is deactivated;
// a full reload builds a new table), which keeps probing simple and lookups branch-light.
//
// Why not a Map: a rank request looks up 5,000 ids; Map<string> needs a string per id (hashed on every
// lookup) and Map<number> cannot hold ids ≥ 2^53 exactly. This costs ~10 ns per lookup and 16 bytes per
// slot, 32–64 bytes per id at load 1/4–1/2.

// Slot layout: [lo, hi, value + 1, unused] in one Uint32Array (16 bytes, 4 slots per cache line), so a
// lookup touches one line; 0 in the value word marks an empty slot (a fresh array is all empty).
const STRIDE = 4;

export class U64Index {
  private slots: Uint32Array;
  private mask: number; // slot count - 1
  private count = 0;

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Uint32Array(cap * STRIDE);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the slot array. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  // Multiplicative mixing of both halves (seeded ids are dense small numbers; upload ids share high bits).
  private slot(lo: number, hi: number): number {
    return (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) ^ (lo >>> 15)) & this.mask;
  }

  /** The value stored for (lo, hi), or -1. */
  get(lo: number, hi: number): number {
    const S = this.slots;
    const mask = this.mask;
    for (let i = this.slot(lo, hi); ; i = (i + 1) & mask) {
      const o = i * STRIDE;
      const v = S[o + 2];
      if (v === 0) return -1;
      if (S[o] === lo && S[o + 1] === hi) return v - 1;
    }
  }

  /** Stores value (0 ≤ value < 2^32 - 1) for (lo, hi), replacing an existing one. */
  set(lo: number, hi: number, value: number): void {
    if (!(value >= 0 && value < 0xffffffff)) throw new RangeError("U64Index values must be in [0, 2^32 - 1)");
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const S = this.slots;
    let i = this.slot(lo, hi);
    for (;; i = (i + 1) & this.mask) {
      const o = i * STRIDE;
      if (S[o + 2] === 0) {
        this.count++;
        break;
      }
      if (S[o] === lo && S[o + 1] === hi) break;
    }
    const o = i * STRIDE;
    S[o] = lo;
    S[o + 1] = hi;
    S[o + 2] = value + 1;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = (this.slots.length / STRIDE) - 1;
    this.count = 0;
    for (let o = 0; o < old.length; o += STRIDE) if (old[o + 2] !== 0) this.set(old[o], old[o + 1], old[o + 2] - 1);
  }
}
