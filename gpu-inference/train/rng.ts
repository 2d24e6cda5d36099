// Seeded PRNG so training runs, splits and synthetic data are reproducible bit for bit.
// mulberry32: tiny, fast, good enough statistical quality for shuffling and weight init.
export interface Rng {
  next(): number; // uniform [0, 1)
  normal(): number; // standard normal
  int(n: number): number; // uniform integer [0, n)
}

export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  let spare: number | null = null;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    // Box–Muller; 1 - next() keeps log() away from 0.
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { next, normal, int: (n) => Math.floor(next() * n) };
}

/** In-place Fisher–Yates shuffle. */
export function shuffle(a: Uint32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
