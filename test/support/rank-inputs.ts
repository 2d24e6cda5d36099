import { syntheticCandidates } from "../../gpu-inference/synthetic-candidates.ts";

// Ranking-service request inputs shared by the service's integration tests (test/integration/rank-service*.test.ts).

/** `n` synthetic candidates (gpu-inference/synthetic-candidates.ts), deterministic per `seed`, ids `v<seed>-<i>`. */
export const candidates = (n: number, seed: number) => syntheticCandidates(n, seed, (i) => `v${seed}-${i}`);

/** The request's user: id "u1" and a fixed 16-float embedding (sin i). */
export const user = { id: "u1", embedding: Array.from({ length: 16 }, (_, i) => Math.sin(i)) };
