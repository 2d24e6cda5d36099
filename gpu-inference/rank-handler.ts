// POST /v1/rank without the HTTP framework: request body in, { status, body, retry-after } out. Served
// by the Hono app (gpu-inference/app.ts) and by the service's fast path for this one hot route
// (gpu-inference/rank-listener.ts), so both answer exactly alike.
//
// Every bad input is a 400 naming the field; overload, "no model yet" and "no feature table yet" are
// 503 + retry-after (the caller's breaker/fallback handles them). Candidate forms (shared/rank-contract.ts):
// row or columnar features from the caller, or ids whose features come from the service's video feature
// table (gpu-inference/feature-table.ts; ids it does not hold are scored cold, never refused).
import {
  CTX_DIM, EMBEDDING_DIM, MAX_CANDIDATES, MAX_FOLLOWEES, candidatesToMatrix, decodeColumnar, parseRankRequest, type CandidateMatrix,
  type RankId, type RankRequest, type RankResponse,
} from "../shared/rank-contract.ts";
import { decodeIds, formatId } from "../shared/u64-ids.ts";
import { InvalidJobError, OverloadError, ShuttingDownError, type MicroBatcher } from "./batcher.ts";
import type { FaultInjector } from "./fault.ts";
import type { FeatureTableHolder } from "./feature-refresh.ts";
import type { ModelHolder } from "./model-holder.ts";
import type { ServiceMetrics } from "./service-metrics.ts";
import { topK } from "./top-k.ts";
import { isJsonContentType, unsupportedMediaType } from "../shared/json-body.ts";

export interface RankDeps {
  holder: ModelHolder;
  batcher: MicroBatcher;
  metrics: ServiceMetrics;
  fault: FaultInjector;
  features: FeatureTableHolder | null;
}

export type RankStatus = 200 | 400 | 401 | 413 | 415 | 500 | 503;
export interface RankReply {
  status: RankStatus;
  body: RankResponse | { error: { code: string; message: string; field?: string } };
  /** Seconds, for the retry-after header (503s). */
  retryAfterS?: number;
}

export const errorReply = (status: RankStatus, code: string, message: string, field?: string, retryAfterS?: number): RankReply => ({
  status, body: { error: { code, message, ...(field ? { field } : {}) } }, ...(retryAfterS !== undefined ? { retryAfterS } : {}),
});

/**
 * Answers one rank request. `contentType` is the request's content-type header (anything but
 * application/json → 415 `unsupported_media_type`, field `content-type`, as on the edge and the origins);
 * `readJson` yields the parsed body (throws on invalid JSON → 400). Never throws: a failed batch is a
 * 503 inference_failed.
 */
export async function handleRank(d: RankDeps, readJson: () => Promise<unknown>, contentType: string | undefined): Promise<RankReply> {
  if (d.fault.shouldFail()) return errorReply(500, "fault_injected", "injected failure (RANK_FAULT_FAIL_RATE)");
  if (!isJsonContentType(contentType)) {
    const e = unsupportedMediaType(contentType);
    return errorReply(415, e.code, e.message, e.field);
  }

  let body: unknown;
  try {
    body = await readJson();
  } catch {
    return errorReply(400, "invalid_request", "body is not valid JSON", "body");
  }
  const parsed = parseRankRequest(body);
  if (!parsed.ok) return errorReply(400, "invalid_request", parsed.message, parsed.field);
  const req = parsed.value;

  let m: CandidateMatrix | ByIdsMatrix;
  if (req.by_ids) {
    const g = gatherByIds(d, req.by_ids);
    if ("error" in g) return errorReply(g.status, g.code, g.error, g.field, g.status === 503 ? 1 : undefined);
    m = g;
  } else if (req.columnar) {
    const dec = decodeColumnar(req.columnar);
    if (!dec.ok) return errorReply(400, "invalid_request", dec.message, dec.field);
    m = dec.value;
  } else m = candidatesToMatrix(req.candidates ?? []);

  const meta = d.holder.meta;
  if (!meta) return errorReply(503, "model_not_ready", "no model loaded yet", undefined, 1);

  const user = new Float32Array(EMBEDDING_DIM);
  user.set(req.user.embedding);
  const rows = m.embeddings.length / EMBEDDING_DIM;
  const byIds = "packed" in m ? m : null;
  let result;
  try {
    result = await d.batcher.submit({ user, video: m.embeddings, ctx: m.ctx, rows, checked: byIds !== null });
  } catch (e) {
    if (e instanceof InvalidJobError) return errorReply(400, "invalid_request", e.message, e.field);
    if (e instanceof OverloadError) return errorReply(503, "overloaded", e.message, undefined, 1);
    if (e instanceof ShuttingDownError) return errorReply(503, "shutting_down", e.message, undefined, 1);
    console.error(`[rank] batch failed: ${(e as Error).message}`);
    return errorReply(503, "inference_failed", "inference failed", undefined, 1);
  }

  const order = topK(result.scores, req.top_k ?? rows);
  const ids = "ids" in m ? m.ids : [];
  const idAt = byIds ? (i: number): RankId => formatId(byIds.packed[2 * i], byIds.packed[2 * i + 1]) : (i: number) => ids[i];
  const items = new Array(order.length);
  for (let i = 0; i < order.length; i++) items[i] = { id: idAt(order[i]), score: result.scores[order[i]] };
  const out: RankResponse = {
    model_version: result.modelVersion || meta.version,
    items,
    batch_rows: result.batchRows,
    timing_ms: { queue: round2(result.queueMs), infer: round2(result.inferMs) },
    ...(byIds ? { feature_table: { version: byIds.version, missing: byIds.missing } } : {}),
  };
  return { status: 200, body: out };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** A by-ids request's candidates, gathered from the feature table. */
interface ByIdsMatrix {
  packed: Uint32Array; // [lo, hi] per candidate (shared/u64-ids.ts)
  embeddings: Float32Array;
  ctx: Float32Array;
  version: string;
  missing: number;
}
type GatherError = { status: 400 | 503; code: string; error: string; field?: string };

/**
 * Decodes a by_ids form and gathers its rows from the feature table (gpu-inference/feature-table.ts).
 * Ids the table does not hold are scored from its cold item features, counted
 * (fyp_rank_feature_misses_total) and fetched on demand for the next request; they never fail the request.
 * Errors: 400 for ids/followees that are not packed uint64 or too many; 503 while there is no table.
 */
function gatherByIds(d: RankDeps, form: NonNullable<RankRequest["by_ids"]>): ByIdsMatrix | GatherError {
  const packed = decodeIds(form.ids);
  if (!packed) return { status: 400, code: "invalid_request", error: "not base64 of little-endian uint64 ids", field: "by_ids.ids" };
  const n = packed.length >>> 1;
  if (n > MAX_CANDIDATES) return { status: 400, code: "invalid_request", error: `at most ${MAX_CANDIDATES} ids, got ${n}`, field: "by_ids.ids" };
  const followees = form.followees ? decodeIds(form.followees) : null;
  if (form.followees && !followees) return { status: 400, code: "invalid_request", error: "not base64 of little-endian uint64 ids", field: "by_ids.followees" };
  if (followees && followees.length / 2 > MAX_FOLLOWEES) {
    return { status: 400, code: "invalid_request", error: `at most ${MAX_FOLLOWEES} followees`, field: "by_ids.followees" };
  }
  const table = d.features?.table;
  if (!table) {
    const error = d.features ? "the video feature table is not loaded yet" : "this service runs without a video feature table";
    return { status: 503, code: "feature_table_unavailable", error };
  }
  const embeddings = new Float32Array(n * EMBEDDING_DIM);
  const ctx = new Float32Array(n * CTX_DIM);
  const version = table.version;
  const { missing } = table.gather(packed, followees, Date.now(), embeddings, ctx);
  if (missing.length) {
    d.metrics.featureMisses.inc(undefined, missing.length);
    d.features!.noteMissing(packed, missing);
  }
  return { packed, embeddings, ctx, version, missing: missing.length };
}
