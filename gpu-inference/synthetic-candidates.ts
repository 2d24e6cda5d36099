import { CTX_DIM, EMBEDDING_DIM } from "../shared/rank-contract.ts";
import { createRng } from "./train/rng.ts";

// Synthetic rank-request candidates for tests, the ranking bench (bench/rank.bench.ts) and the capacity
// calibration (scripts/capacity/calibrate.ts): one generator, so a figure and a test see the same inputs.

/**
 * `n` candidates, deterministic per `seed`: ids from `idOf(i)` (i = 0..n−1), EMBEDDING_DIM-float
 * embeddings ~ N(0, 0.3²) and CTX_DIM-float contexts uniform in [0, 1), both row-major (the columnar
 * block layout of shared/rank-contract.ts encodeColumnar).
 */
export function syntheticCandidates<Id>(n: number, seed: number, idOf: (i: number) => Id): { ids: Id[]; embeddings: Float32Array; ctx: Float32Array } {
  const rng = createRng(seed);
  return {
    ids: Array.from({ length: n }, (_, i) => idOf(i)),
    embeddings: Float32Array.from({ length: n * EMBEDDING_DIM }, () => rng.normal() * 0.3),
    ctx: Float32Array.from({ length: n * CTX_DIM }, () => rng.next()),
  };
}
