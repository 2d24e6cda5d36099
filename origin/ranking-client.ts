import { f32ToBase64 } from "../shared/f32-base64.ts";
import { EMBEDDING_DIM } from "../shared/db/schema.ts";

// HTTP client of the ranking service (gpu-inference/). Sends the compact columnar form: ids plus
// base64 float32 blocks, so 5,000 candidates cost one small JSON parse on each side.

export const CTX_DIM = 4;

export interface RankInput {
  userId: string;
  userEmb: Float32Array;
  ids: string[];
  embeddings: Float32Array; // ids.length * EMBEDDING_DIM
  ctx: Float32Array; // ids.length * CTX_DIM
  topK: number;
}
export interface RankOutput {
  modelVersion: string;
  items: { id: string; score: number }[];
}

export class RankingError extends Error {
  readonly status: number;
  constructor(message: string, status = 0) {
    super(message);
    this.status = status;
  }
}

export async function rank(baseUrl: string, input: RankInput, timeoutMs: number, secret = ""): Promise<RankOutput> {
  if (input.embeddings.length !== input.ids.length * EMBEDDING_DIM) throw new RankingError("embedding block size mismatch");
  const body = JSON.stringify({
    user: { id: input.userId, embedding: Array.from(input.userEmb) },
    columnar: { ids: input.ids, embeddings: f32ToBase64(input.embeddings), ctx: f32ToBase64(input.ctx) },
    top_k: input.topK,
  });
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/v1/rank`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-internal-secret": secret },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new RankingError(`ranking call failed: ${(e as Error).name === "TimeoutError" ? "timeout" : (e as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new RankingError(`ranking service answered ${res.status}`, res.status);
  }
  const out = (await res.json()) as { model_version: string; items: { id: string; score: number }[] };
  return { modelVersion: out.model_version, items: out.items };
}
