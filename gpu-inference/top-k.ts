// Top-k selection over the score array of one request. The origin asks for ~50 of 5,000 candidates, so
// a size-k min-heap (O(n log k)) beats sorting all n indices (~1 ms with a comparator) by about 10x.
// Order: score descending, ties by candidate position ascending — deterministic whatever the method.

/** true when candidate a ranks before candidate b */
const before = (s: Float32Array, a: number, b: number) => s[a] > s[b] || (s[a] === s[b] && a < b);

function fullSort(scores: Float32Array, k: number): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return k < idx.length ? idx.subarray(0, k) : idx;
}

/** Indices of the k best scores, best first. */
export function topK(scores: Float32Array, k: number): Uint32Array {
  const n = scores.length;
  if (k <= 0 || n === 0) return new Uint32Array(0);
  if (k * 4 >= n) return fullSort(scores, k);
  // heap[0] is the worst of the current best k.
  const heap = new Uint32Array(k);
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < k && before(scores, heap[worst], heap[l])) worst = l;
      if (r < k && before(scores, heap[worst], heap[r])) worst = r;
      if (worst === i) return;
      const t = heap[i];
      heap[i] = heap[worst];
      heap[worst] = t;
      i = worst;
    }
  };
  for (let i = 0; i < k; i++) heap[i] = i;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(i);
  for (let i = k; i < n; i++) {
    if (before(scores, i, heap[0])) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => scores[b] - scores[a] || a - b);
}
