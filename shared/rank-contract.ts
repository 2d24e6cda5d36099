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

const finite = z.number(); // zod 4 rejects NaN and ±Infinity itself
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
// (atob/btoa go through a binary string; these work on byte buffers directly, ~1 ms for 5,000 rows.)
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_CODES = new Uint8Array(64);
const B64_INDEX = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_CODES[i] = B64.charCodeAt(i);
  B64_INDEX[B64.charCodeAt(i)] = i;
}
const ASCII = new TextDecoder(); // output is pure ASCII, so UTF-8 (supported everywhere, incl. workerd) is exact

export function bytesToBase64(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const x = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = B64_CODES[x >> 18];
    out[o++] = B64_CODES[(x >> 12) & 63];
    out[o++] = B64_CODES[(x >> 6) & 63];
    out[o++] = B64_CODES[x & 63];
  }
  if (i < n) {
    const two = i + 1 < n;
    const x = (bytes[i] << 16) | ((two ? bytes[i + 1] : 0) << 8);
    out[o++] = B64_CODES[x >> 18];
    out[o++] = B64_CODES[(x >> 12) & 63];
    out[o++] = two ? B64_CODES[(x >> 6) & 63] : 61;
    out[o++] = 61; // '='
  }
  return ASCII.decode(out);
}

/** Decodes standard base64 (padding optional). Returns null on any invalid character or length. */
export function base64ToBytes(s: string): Uint8Array | null {
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 61 /* = */) len--;
  if (s.length - len > 2 || len % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  const full = len - (len % 4);
  let o = 0;
  let i = 0;
  const at = (k: number) => {
    const c = s.charCodeAt(k);
    return c < 256 ? B64_INDEX[c] : -1;
  };
  for (; i < full; i += 4) {
    const a = at(i), b = at(i + 1), c = at(i + 2), d = at(i + 3);
    if ((a | b | c | d) < 0) return null;
    const x = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = x >> 16;
    out[o++] = (x >> 8) & 255;
    out[o++] = x & 255;
  }
  if (i < len) {
    // 2 or 3 trailing characters carry 1 or 2 bytes.
    const a = at(i), b = at(i + 1), c = i + 2 < len ? at(i + 2) : 0;
    if ((a | b | c) < 0) return null;
    const x = (a << 18) | (b << 12) | (c << 6);
    out[o++] = x >> 16;
    if (i + 2 < len) out[o++] = (x >> 8) & 255;
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

// ---- request parsing -------------------------------------------------------------------------------
// zod walks 5,000 rows × 20 numbers in ~10 ms; this hand check of the same rules takes well under 1 ms.
// It only ever accepts what RankCandidateSchema accepts, and on any doubt the full zod parse runs, so the
// error (and its field path) always comes from the schema.
const isVec = (a: unknown, n: number): boolean => {
  if (!Array.isArray(a) || a.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (typeof v !== "number" || !Number.isFinite(v)) return false;
  }
  return true;
};
const isId = (s: unknown) => typeof s === "string" && s.length >= 1 && s.length <= 128;

function candidatesLookValid(c: unknown): c is RankCandidate[] {
  if (!Array.isArray(c) || c.length > MAX_CANDIDATES) return false;
  for (let i = 0; i < c.length; i++) {
    const r = c[i] as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null || !isId(r.id) || !isVec(r.embedding, EMBEDDING_DIM) || !isVec(r.ctx, CTX_DIM)) return false;
  }
  return true;
}

export type ParseResult = { ok: true; value: RankRequest } | { ok: false; field: string; message: string };

export function parseRankRequest(body: unknown): ParseResult {
  const b = body as Record<string, unknown> | null;
  if (typeof b === "object" && b !== null && !Array.isArray(b) && candidatesLookValid(b.candidates)) {
    const rows = b.candidates;
    const envelope = RankRequestSchema.safeParse({ ...b, candidates: [] });
    if (envelope.success) return { ok: true, value: { ...envelope.data, candidates: rows } };
  }
  const r = RankRequestSchema.safeParse(body);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return { ok: false, field: issue.path.map(String).join(".") || "body", message: issue.message };
}
