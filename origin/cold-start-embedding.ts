import { EMBEDDING_DIM } from "../shared/db/schema.ts";
import type { Db } from "./db.ts";

// The default (cold-start) user embedding of DESIGN §3 level 2: when the feature store is unavailable a
// user is ranked as "the region's typical viewer", one vector for everybody, not a per-user stand-in.
//
// Rule: the views-weighted mean (weight = views + 1) of the embeddings of the region's most-viewed active
// videos, scaled to unit length like the learned user embeddings the model was trained on (the seed's
// embeddings are unit vectors; a mean of unit vectors is shorter, which would read as "no affinity with
// anything"). Only the TOP_VIDEOS most viewed are read (one index scan on videos_views): popularity is Zipf
// (s = 1.1), so they carry nearly all of the weight of the whole catalogue at a fraction of the read.
//
// Computed from Postgres at most once per REFRESH_MS per isolate (the learned embeddings only change when
// the model is retrained; views drift slowly), never on a level-0 request. Throws what the query throws:
// without Postgres there is no level-2 feed to rank anyway.

export const TOP_VIDEOS = 10_000;
export const REFRESH_MS = 3_600_000;
const QUERY_TIMEOUT_MS = 1_000;

let memo: { at: number; emb: Float32Array } | null = null;
let pending: Promise<Float32Array> | null = null;

/** Pure: the unit-length views-weighted mean of `rows` (each `embedding` EMBEDDING_DIM long); zeros for no rows. */
export function weightedMeanEmbedding(rows: { embedding: number[]; views: number | string }[]): Float32Array {
  const sum = new Float64Array(EMBEDDING_DIM);
  for (const r of rows) {
    const w = Math.max(0, Number(r.views)) + 1;
    for (let d = 0; d < EMBEDDING_DIM; d++) sum[d] += w * r.embedding[d];
  }
  const norm = Math.hypot(...sum);
  return Float32Array.from(sum, (x) => (norm > 0 ? x / norm : 0));
}

/** The region's default user embedding (EMBEDDING_DIM floats, unit length); see the rule above. */
export async function defaultUserEmbedding(db: Db, now = Date.now()): Promise<Float32Array> {
  if (memo && now - memo.at < REFRESH_MS) return memo.emb;
  pending ??= db
    .query<{ embedding: number[]; views: string }>(
      `SELECT embedding, views FROM videos WHERE status = 'active' ORDER BY views DESC LIMIT ${TOP_VIDEOS}`, [], QUERY_TIMEOUT_MS,
    )
    .then((rows) => {
      const emb = weightedMeanEmbedding(rows);
      memo = { at: now, emb };
      return emb;
    })
    .finally(() => (pending = null));
  return pending;
}
