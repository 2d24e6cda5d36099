// Wire contract of the ranking service (gpu-inference/) shared with its callers (the origin worker).
// Pure: no Node imports, so it runs unchanged in workerd, Node and the browser.
//
// Model inputs per candidate row: user embedding (16), video embedding (16), context (4):
//   ctx = [log1p(views)/15, likes/(views+1), followedAuthor 0|1, exp(-age_days/7)]
// `contextFeatures` is the one place that formula lives, so training and serving cannot drift.
//
// Every model input is a finite number in [-FEATURE_ABS_MAX, FEATURE_ABS_MAX]; the schemas, the columnar
// decoder, the service's batcher and the origin's client all check that one bound (see FEATURE_ABS_MAX).
import { z } from "zod";
import { f32ToBase64, tryBase64ToF32 } from "./f32-base64.ts";

export const EMBEDDING_DIM = 16;
export const CTX_DIM = 4;
export const MAX_CANDIDATES = 10_000;

/**
 * Largest |value| of any model input (user or video embedding component, context feature).
 *
 * Source: the training data. Embeddings are unit vectors, so every component is in [-1, 1]
 * (scripts/seed/generate.ts, gpu-inference/train/synthetic.ts); context features are in [0, 2.45]
 * (contextFeatures below keeps them there). 8 leaves room for callers whose embeddings are not quite
 * normalised; a value beyond it is corrupt data, not a feature. The bound is also what keeps the model's
 * float32 arithmetic finite: 1e38 inputs overflowed to ±Infinity inside the network and came back as a
 * NaN score (JSON null) that sorted first. publishModel refuses weights whose worst-case logit over
 * [-8, 8]^52 is not finite (gpu-inference/model/network.ts maxAbsLogit).
 */
export const FEATURE_ABS_MAX = 8;
const FEATURE_RANGE = `a finite number in [-${FEATURE_ABS_MAX}, ${FEATURE_ABS_MAX}]`;

/** True for a finite number within ±FEATURE_ABS_MAX (false for NaN, ±Infinity and non-numbers). */
export const isFeatureValue = (v: unknown): v is number =>
  typeof v === "number" && v >= -FEATURE_ABS_MAX && v <= FEATURE_ABS_MAX;

/** Where a packed block (rows × dim, row-major) first breaks the feature range. */
export interface BadFeature {
  row: number;
  col: number;
  value: number;
}

/** Scans a packed block (rows × dim) for the first value that is not isFeatureValue; null when all are fine. One comparison per value. */
export function findBadFeature(block: ArrayLike<number>, dim: number): BadFeature | null {
  const n = block.length;
  for (let i = 0; i < n; i++) {
    // Written as a negation so NaN (every comparison false) is caught too; ±Infinity fails the bound.
    if (!(Math.abs(block[i]) <= FEATURE_ABS_MAX)) return { row: Math.floor(i / dim), col: i % dim, value: block[i] };
  }
  return null;
}

/** Human-readable reason for a BadFeature, used in 400 messages on both sides. */
export const describeBadFeature = (b: BadFeature): string =>
  // 7 significant digits: what a float32 holds (1e38 decodes as 9.999999680285692e+37).
  `row ${b.row}, value ${b.col} is ${typeof b.value === "number" ? Number(b.value.toPrecision(7)) : b.value}: every model input must be ${FEATURE_RANGE}`;

// Clamps a raw count/age into a finite, non-negative number: a corrupted counter (NaN, negative, 1e300)
// must yield an in-range feature, not a NaN or a 47 (log1p(1e300)/15).
const count = (x: number) => (x > 0 ? Math.min(x, Number.MAX_SAFE_INTEGER) : 0); // NaN → 0

/**
 * The 4 context features of one (user, video) pair, each in [0, 2.45]:
 * [log1p(views)/15, min(1, likes/(views+1)), followedAuthor 0|1, exp(-age_days/7)].
 * Inputs are clamped first (NaN, negative → 0; views/likes ≤ 2^53; NaN age → 0 days), so any input gives
 * finite features within FEATURE_ABS_MAX. Training (train/db-source.ts, train/synthetic.ts) and serving
 * (gpu-inference/feature-table.ts, through the per-feature helpers below) both use this formula.
 */
export function contextFeatures(views: number, likes: number, followedAuthor: boolean, ageDays: number): [number, number, number, number] {
  return [viewsFeature(views), likeRateFeature(views, likes), followedAuthor ? 1 : 0, recencyFeature(ageDays)];
}

/** Context feature 0, log1p(views)/15 (clamped like contextFeatures): the ranking service's feature table precomputes it per video. */
export const viewsFeature = (views: number): number => Math.log1p(count(views)) / 15;
/** Context feature 1, min(1, likes/(views+1)) (clamped like contextFeatures). */
export const likeRateFeature = (views: number, likes: number): number => Math.min(1, count(likes) / (count(views) + 1));
/** Context feature 3, exp(-age_days/7) (NaN or negative age → 0 days), computed per request from the video's creation time. */
export const recencyFeature = (ageDays: number): number => Math.exp(-count(ageDays) / 7);

// zod 4 rejects NaN and ±Infinity by itself; the bound adds the range (1e38 is finite but poisons the model).
export const FeatureValueSchema = z
  .number({ error: `must be ${FEATURE_RANGE}` })
  .min(-FEATURE_ABS_MAX, { error: `must be ${FEATURE_RANGE}` })
  .max(FEATURE_ABS_MAX, { error: `must be ${FEATURE_RANGE}` });
const vec = (n: number) => z.array(FeatureValueSchema).length(n);

// Ids are opaque to the service and echoed back as sent: the origin sends numeric video ids, other
// callers strings. A JSON number id must be a safe integer so it round-trips exactly.
export const RankIdSchema = z.union([z.string().min(1).max(128), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]);
export type RankId = z.infer<typeof RankIdSchema>;

export const RankCandidateSchema = z.object({
  id: RankIdSchema,
  embedding: vec(EMBEDDING_DIM),
  ctx: vec(CTX_DIM),
});

export const RankColumnarSchema = z.object({
  ids: z.array(RankIdSchema).max(MAX_CANDIDATES),
  /** base64 of Float32 little-endian, ids.length * 16 values */
  embeddings: z.string(),
  /** base64 of Float32 little-endian, ids.length * 4 values */
  ctx: z.string(),
});

/**
 * Rank-by-ids form (issue 13): candidate video ids only; the ranking service looks their embeddings and
 * counts up in its own versioned feature table (gpu-inference/feature-table.ts) and derives the context
 * features itself (followedAuthor from `followees`, age from its clock). Ids are packed uint64
 * (shared/u64-ids.ts); ids unknown to the table are still scored, from the table's cold item features.
 */
export const RankByIdsSchema = z.object({
  /** base64 of little-endian uint64 video ids, at most MAX_CANDIDATES */
  ids: z.string(),
  /** base64 of little-endian uint64 author ids the user follows (context feature followedAuthor); default none */
  followees: z.string().optional(),
});
/** Most followees a by-ids request may carry (the origin's feature store caps a user's at 1,000). */
export const MAX_FOLLOWEES = 10_000;

export const RankRequestSchema = z
  .object({
    user: z.object({ id: z.string().min(1).max(128), embedding: vec(EMBEDDING_DIM) }),
    candidates: z.array(RankCandidateSchema).max(MAX_CANDIDATES).optional(),
    columnar: RankColumnarSchema.optional(),
    by_ids: RankByIdsSchema.optional(),
    top_k: z.number().int().min(1).max(MAX_CANDIDATES).optional(),
  })
  .superRefine((r, ctx) => {
    // Exactly one candidate form: two forms would make "which one wins" a silent guess.
    const forms = [r.candidates, r.columnar, r.by_ids].filter((f) => f !== undefined).length;
    if (forms !== 1) {
      ctx.addIssue({ code: "custom", path: ["candidates"], message: "exactly one of candidates, columnar or by_ids is required" });
    }
  });

/** score: engagement probability in [0, 1], always a finite number (never null/NaN; see gpu-inference/batcher.ts). */
export const RankItemSchema = z.object({ id: RankIdSchema, score: z.number().min(0).max(1) });
export const RankResponseSchema = z.object({
  model_version: z.string(),
  items: z.array(RankItemSchema),
  batch_rows: z.number().int(),
  timing_ms: z.object({ queue: z.number(), infer: z.number() }),
  /** by_ids requests only: the feature table version that supplied the features, and how many ids it did not hold (scored cold). */
  feature_table: z.object({ version: z.string(), missing: z.number().int().min(0) }).optional(),
});
export const RankErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

export type RankCandidate = z.infer<typeof RankCandidateSchema>;
export type RankColumnar = z.infer<typeof RankColumnarSchema>;
export type RankRequest = z.infer<typeof RankRequestSchema>;
export type RankItem = z.infer<typeof RankItemSchema>;
export type RankResponse = z.infer<typeof RankResponseSchema>;
export type RankError = z.infer<typeof RankErrorSchema>;

/** Candidate rows decoded to the model's tensor layout. */
export interface CandidateMatrix {
  ids: RankId[];
  embeddings: Float32Array; // ids.length * 16
  ctx: Float32Array; // ids.length * 4
}

export function encodeColumnar(m: CandidateMatrix): RankColumnar {
  const n = m.ids.length;
  if (m.embeddings.length !== n * EMBEDDING_DIM || m.ctx.length !== n * CTX_DIM) {
    throw new RangeError(`encodeColumnar: expected ${n * EMBEDDING_DIM} embedding and ${n * CTX_DIM} ctx values`);
  }
  return { ids: m.ids, embeddings: f32ToBase64(m.embeddings), ctx: f32ToBase64(m.ctx) };
}

export type DecodeResult = { ok: true; value: CandidateMatrix } | { ok: false; field: string; message: string };

/**
 * Decodes and checks the columnar form: valid base64, ids.length × dim float32 values, each a feature value
 * (finite, |x| ≤ FEATURE_ABS_MAX). Failures name the field (`columnar.embeddings` / `columnar.ctx`) and,
 * in the message, the row and value index, for a 400 response.
 */
export function decodeColumnar(c: RankColumnar): DecodeResult {
  const n = c.ids.length;
  const cols = [
    ["embeddings", c.embeddings, EMBEDDING_DIM],
    ["ctx", c.ctx, CTX_DIM],
  ] as const;
  const decoded: Float32Array[] = [];
  for (const [name, text, dim] of cols) {
    const f = tryBase64ToF32(text);
    if (!f) return { ok: false, field: `columnar.${name}`, message: "not valid base64 of little-endian float32 values" };
    if (f.length !== n * dim) {
      return { ok: false, field: `columnar.${name}`, message: `expected ${n * dim} float32 values (ids.length × ${dim}), got ${f.length}` };
    }
    const bad = findBadFeature(f, dim);
    if (bad) return { ok: false, field: `columnar.${name}`, message: describeBadFeature(bad) };
    decoded.push(f);
  }
  return { ok: true, value: { ids: c.ids, embeddings: decoded[0], ctx: decoded[1] } };
}

/** Row form → tensor layout. Assumes the rows already passed RankCandidateSchema. */
export function candidatesToMatrix(rows: RankCandidate[]): CandidateMatrix {
  const n = rows.length;
  const embeddings = new Float32Array(n * EMBEDDING_DIM);
  const ctx = new Float32Array(n * CTX_DIM);
  const ids = new Array<RankId>(n);
  for (let i = 0; i < n; i++) {
    ids[i] = rows[i].id;
    embeddings.set(rows[i].embedding, i * EMBEDDING_DIM);
    ctx.set(rows[i].ctx, i * CTX_DIM);
  }
  return { ids, embeddings, ctx };
}

// ---- request parsing -------------------------------------------------------------------------------
// zod walks 5,000 rows × 20 numbers in ~10 ms (5,000 union-typed ids in ~1.5 ms); these hand checks of
// the same rules take well under 0.1 ms. They only ever accept what the schema accepts, and on any doubt
// the full zod parse runs, so the error (and its field path) always comes from the schema.
const isVec = (a: unknown, n: number): boolean => {
  if (!Array.isArray(a) || a.length !== n) return false;
  for (let i = 0; i < n; i++) if (!isFeatureValue(a[i])) return false;
  return true;
};
const isId = (s: unknown) =>
  typeof s === "string" ? s.length >= 1 && s.length <= 128 : Number.isSafeInteger(s) && (s as number) >= 0;

function candidatesLookValid(c: unknown): c is RankCandidate[] {
  if (!Array.isArray(c) || c.length > MAX_CANDIDATES) return false;
  for (let i = 0; i < c.length; i++) {
    const r = c[i] as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null || !isId(r.id) || !isVec(r.embedding, EMBEDDING_DIM) || !isVec(r.ctx, CTX_DIM)) return false;
  }
  return true;
}

export type ParseResult = { ok: true; value: RankRequest } | { ok: false; field: string; message: string };

const idsLookValid = (ids: unknown): ids is RankId[] => {
  if (!Array.isArray(ids) || ids.length > MAX_CANDIDATES) return false;
  for (let i = 0; i < ids.length; i++) if (!isId(ids[i])) return false;
  return true;
};

export function parseRankRequest(body: unknown): ParseResult {
  const b = body as Record<string, unknown> | null;
  if (typeof b === "object" && b !== null && !Array.isArray(b)) {
    // The big arrays are checked by hand, the small envelope (user, top_k, the one-form rule) by zod.
    const col = b.columnar as Record<string, unknown> | null | undefined;
    if (typeof b.by_ids === "object" && b.by_ids !== null && b.candidates === undefined && b.columnar === undefined) {
      // The packed ids are one string each: zod checks the whole (small) envelope; decoding is the service's.
      const r = RankRequestSchema.safeParse(b);
      if (r.success) return { ok: true, value: r.data };
    } else if (candidatesLookValid(b.candidates)) {
      const envelope = RankRequestSchema.safeParse({ ...b, candidates: [] });
      if (envelope.success) return { ok: true, value: { ...envelope.data, candidates: b.candidates } };
    } else if (typeof col === "object" && col !== null && idsLookValid(col.ids)) {
      const envelope = RankRequestSchema.safeParse({ ...b, columnar: { ...col, ids: [] } });
      if (envelope.success && envelope.data.columnar) {
        return { ok: true, value: { ...envelope.data, columnar: { ...envelope.data.columnar, ids: col.ids } } };
      }
    }
  }
  const r = RankRequestSchema.safeParse(body);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return { ok: false, field: issue.path.map(String).join(".") || "body", message: issue.message };
}

/** A rank answer item as RankItemSchema accepts it (checked by hand: a feed miss gets 500 of them). */
const isRankItem = (it: unknown): boolean => {
  if (typeof it !== "object" || it === null) return false;
  const { id, score } = it as { id?: unknown; score?: unknown };
  return isId(id) && typeof score === "number" && score >= 0 && score <= 1;
};

/**
 * A ranking service answer validated against RankResponseSchema: the items (topK of them, 500 on a feed
 * miss) checked by hand, the small envelope by zod — as parseRankRequest does for requests; zod's per-item
 * parse was ~5% of the origin's CPU on a feed miss (issue 13 profile). Anything the hand check refuses is
 * parsed by the whole schema, so an error names the same issue path as before. Items keep only id and score.
 */
export function parseRankResponse(body: unknown): ReturnType<typeof RankResponseSchema.safeParse> {
  const items = (body as { items?: unknown } | null)?.items;
  if (typeof body === "object" && body !== null && Array.isArray(items) && items.every(isRankItem)) {
    const envelope = RankResponseSchema.safeParse({ ...body, items: [] });
    if (envelope.success) {
      envelope.data.items = items.map((it: RankItem) => ({ id: it.id, score: it.score }));
      return envelope;
    }
  }
  return RankResponseSchema.safeParse(body);
}
