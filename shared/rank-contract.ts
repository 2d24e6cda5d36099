// Wire contract of the ranking service (gpu-inference/) shared with its callers (the origin worker).
// Pure: no Node imports, so it runs unchanged in workerd, Node and the browser.
//
// Model inputs per candidate row: user embedding (16), video embedding (16), context (4):
//   ctx = [log1p(views)/15, likes/(views+1), followedAuthor 0|1, exp(-age_days/7)]
// `contextFeatures` is the one place that formula lives, so training and serving cannot drift.
import { z } from "zod";

export const EMBEDDING_DIM = 16;
export const CTX_DIM = 4;
export const MAX_CANDIDATES = 10_000;

export function contextFeatures(views: number, likes: number, followedAuthor: boolean, ageDays: number): [number, number, number, number] {
  const v = Math.max(0, views);
  return [Math.log1p(v) / 15, Math.max(0, likes) / (v + 1), followedAuthor ? 1 : 0, Math.exp(-Math.max(0, ageDays) / 7)];
}

// Finite numbers only: NaN/Infinity cannot be expressed in JSON anyway, but this keeps the schema honest
// for in-process callers.
const finite = z.number().refine(Number.isFinite, "must be a finite number");
const vec = (n: number) => z.array(finite).length(n);

export const RankCandidateSchema = z.object({
  id: z.string().min(1).max(128),
  embedding: vec(EMBEDDING_DIM),
  ctx: vec(CTX_DIM),
});

export const RankColumnarSchema = z.object({
  ids: z.array(z.string().min(1).max(128)).max(MAX_CANDIDATES),
  /** base64 of Float32 little-endian, ids.length * 16 values */
  embeddings: z.string(),
  /** base64 of Float32 little-endian, ids.length * 4 values */
  ctx: z.string(),
});

export const RankRequestSchema = z
  .object({
    user: z.object({ id: z.string().min(1).max(128), embedding: vec(EMBEDDING_DIM) }),
    candidates: z.array(RankCandidateSchema).max(MAX_CANDIDATES).optional(),
    columnar: RankColumnarSchema.optional(),
    top_k: z.number().int().min(1).max(MAX_CANDIDATES).optional(),
  })
  .superRefine((r, ctx) => {
    // Exactly one candidate form: two forms would make "which one wins" a silent guess.
    if ((r.candidates === undefined) === (r.columnar === undefined)) {
      ctx.addIssue({ code: "custom", path: ["candidates"], message: "exactly one of candidates or columnar is required" });
    }
  });

export const RankItemSchema = z.object({ id: z.string(), score: z.number() });
export const RankResponseSchema = z.object({
  model_version: z.string(),
  items: z.array(RankItemSchema),
  batch_rows: z.number().int(),
  timing_ms: z.object({ queue: z.number(), infer: z.number() }),
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
  ids: string[];
  embeddings: Float32Array; // ids.length * 16
  ctx: Float32Array; // ids.length * 4
}

// ---- base64 without Buffer/atob: identical behaviour in every runtime, and fast on large payloads ----
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64.length; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const x = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    chunk += B64[x >> 18] + B64[(x >> 12) & 63] + B64[(x >> 6) & 63] + B64[x & 63];
    if (chunk.length >= 8192) (parts.push(chunk), (chunk = ""));
  }
  if (i < n) {
    const x = (bytes[i] << 16) | ((i + 1 < n ? bytes[i + 1] : 0) << 8);
    chunk += B64[x >> 18] + B64[(x >> 12) & 63] + (i + 1 < n ? B64[(x >> 6) & 63] : "=") + "=";
  }
  parts.push(chunk);
  return parts.join("");
}

/** Decodes standard base64 (padding optional). Returns null on any invalid character or length. */
export function base64ToBytes(s: string): Uint8Array | null {
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 61 /* = */) len--;
  if (s.length - len > 2 || len % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

function floatsToLeBytes(f: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  const out = new Uint8Array(f.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < f.length; i++) dv.setFloat32(i * 4, f[i], true);
  return out;
}

function leBytesToFloats(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.length / 4);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(b);
  else {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  }
  return out;
}

export function encodeColumnar(m: CandidateMatrix): RankColumnar {
  const n = m.ids.length;
  if (m.embeddings.length !== n * EMBEDDING_DIM || m.ctx.length !== n * CTX_DIM) {
    throw new RangeError(`encodeColumnar: expected ${n * EMBEDDING_DIM} embedding and ${n * CTX_DIM} ctx values`);
  }
  return { ids: m.ids, embeddings: bytesToBase64(floatsToLeBytes(m.embeddings)), ctx: bytesToBase64(floatsToLeBytes(m.ctx)) };
}

export type DecodeResult = { ok: true; value: CandidateMatrix } | { ok: false; field: string; message: string };

/** Decodes and checks the columnar form; failures name the offending field for a 400 response. */
export function decodeColumnar(c: RankColumnar): DecodeResult {
  const n = c.ids.length;
  const cols = [
    ["embeddings", c.embeddings, EMBEDDING_DIM],
    ["ctx", c.ctx, CTX_DIM],
  ] as const;
  const decoded: Float32Array[] = [];
  for (const [name, text, dim] of cols) {
    const bytes = base64ToBytes(text);
    if (!bytes) return { ok: false, field: `columnar.${name}`, message: "not valid base64" };
    if (bytes.length !== n * dim * 4) {
      return { ok: false, field: `columnar.${name}`, message: `expected ${n * dim} float32 values (${n * dim * 4} bytes), got ${bytes.length} bytes` };
    }
    const f = leBytesToFloats(bytes);
    for (let i = 0; i < f.length; i++) {
      if (!Number.isFinite(f[i])) return { ok: false, field: `columnar.${name}`, message: `value ${i} is not finite` };
    }
    decoded.push(f);
  }
  return { ok: true, value: { ids: c.ids, embeddings: decoded[0], ctx: decoded[1] } };
}

/** Row form → tensor layout. Assumes the rows already passed RankCandidateSchema. */
export function candidatesToMatrix(rows: RankCandidate[]): CandidateMatrix {
  const n = rows.length;
  const embeddings = new Float32Array(n * EMBEDDING_DIM);
  const ctx = new Float32Array(n * CTX_DIM);
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    ids[i] = rows[i].id;
    embeddings.set(rows[i].embedding, i * EMBEDDING_DIM);
    ctx.set(rows[i].ctx, i * CTX_DIM);
  }
  return { ids, embeddings, ctx };
}
