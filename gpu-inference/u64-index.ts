// Open-addressing hash map from a uint64 id (as [lo, hi] uint32 halves, shared/u64-ids.ts) to a row
// number, for the feature table's id → row lookups. Linear probing over typed arrays, load factor ≤ 1/2,
// doubling when full. No deletion: the feature table never frees a row (a removed video is deactivated;
// a full reload builds a new table), which keeps probing simple and lookups branch-light.
//
// Why not a Map: a rank request looks up 5,000 ids; Map<string> needs a string per id (hashed on every
// lookup) and Map<number> cannot hold ids ≥ 2^53 exactly. This costs ~10 ns per lookup and 12 bytes per
// slot (8 key + 4 value), 24–48 bytes per id at load 1/4–1/2.

const EMPTY = -1;

export class U64Index {
  private lo: Uint32Array;
  private hi: Uint32Array;
  private val: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.lo = new Uint32Array(cap);
    this.hi = new Uint32Array(cap);
    this.val = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the slot arrays. */
  get bytes(): number {
    return this.lo.byteLength + this.hi.byteLength + this.val.byteLength;
  }

  // Multiplicative mixing of both halves (seeded ids are dense small numbers; upload ids share high bits).
  private slot(lo: number, hi: number): number {
    return (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) ^ (lo >>> 15)) & this.mask;
  }

  /** The value stored for (lo, hi), or -1. */
  get(lo: number, hi: number): number {
    const { lo: L, hi: H, val: V, mask } = this;
    for (let i = this.slot(lo, hi); ; i = (i + 1) & mask) {
      const v = V[i];
      if (v === EMPTY || (L[i] === lo && H[i] === hi)) return v;
    }
  }

  /** Stores value (≥ 0) for (lo, hi), replacing an existing one. */
  set(lo: number, hi: number, value: number): void {
    if (value < 0) throw new RangeError("U64Index values must be ≥ 0");
    if ((this.count + 1) * 2 > this.val.length) this.grow();
    const { lo: L, hi: H, val: V, mask } = this;
    let i = this.slot(lo, hi);
    while (V[i] !== EMPTY && !(L[i] === lo && H[i] === hi)) i = (i + 1) & mask;
    if (V[i] === EMPTY) this.count++;
    L[i] = lo;
    H[i] = hi;
    V[i] = value;
  }

  private grow(): void {
    const { lo, hi, val } = this;
    const cap = val.length * 2;
    this.lo = new Uint32Array(cap);
    this.hi = new Uint32Array(cap);
    this.val = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < val.length; i++) if (val[i] !== EMPTY) this.set(lo[i], hi[i], val[i]);
  }
}
