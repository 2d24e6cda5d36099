import { describe, expect, it } from "vitest";
import { topK } from "../../gpu-inference/top-k.ts";
import { createRng } from "../../gpu-inference/train/rng.ts";

// Reference: sort everything by (score desc, index asc).
const reference = (s: Float32Array, k: number) =>
  Array.from(s.keys())
    .sort((a, b) => s[b] - s[a] || a - b)
    .slice(0, k);

describe("topK", () => {
  it("matches a full sort, ties included, for heap and sort paths", () => {
    const rng = createRng(3);
    for (const n of [0, 1, 2, 7, 100, 5000]) {
      // Coarse scores force many ties, which must break by candidate position.
      const s = Float32Array.from({ length: n }, () => Math.round(rng.next() * 20) / 20);
      for (const k of [1, 3, 50, n, n + 5]) expect(Array.from(topK(s, k))).toEqual(reference(s, k));
    }
  });

  it("ranks NaN below every number (like -Infinity, ties by position) on both paths, never first", () => {
    const rng = createRng(4);
    const asKey = (s: Float32Array) => s.map((x) => (Number.isNaN(x) ? -Infinity : x));
    for (const n of [1, 2, 9, 100, 5000]) {
      const s = Float32Array.from({ length: n }, () => {
        const r = rng.next();
        return r < 0.1 ? Number.NaN : r < 0.15 ? -Infinity : r < 0.2 ? 0 : rng.next();
      });
      s[0] = Number.NaN; // where a raw comparison let it stay on top
      for (const k of [1, 3, 50, n, n + 5]) {
        const got = Array.from(topK(s, k));
        expect(got).toEqual(reference(asKey(s), k));
        if (s.some((x) => !Number.isNaN(x))) expect(Number.isNaN(s[got[0]])).toBe(false);
      }
    }
    // The input is left as it was (the NaN-free copy is internal).
    const s = Float32Array.of(Number.NaN, 0.2, 0.9);
    expect(Array.from(topK(s, 2))).toEqual([2, 1]);
    expect(Number.isNaN(s[0])).toBe(true);
    expect(Array.from(topK(Float32Array.of(Number.NaN, Number.NaN, Number.NaN), 2))).toEqual([0, 1]);
  });

  it("returns nothing for k = 0", () => {
    expect(topK(Float32Array.of(1, 2), 0)).toHaveLength(0);
  });
});
