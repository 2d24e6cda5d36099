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

  it("returns nothing for k = 0", () => {
    expect(topK(Float32Array.of(1, 2), 0)).toHaveLength(0);
  });
});
