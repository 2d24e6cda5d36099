// HTTP surface of the ranking service. Every bad input is a 400 with the offending field; overload and
// "no model yet" are 503 + retry-after (the caller's breaker/fallback handles them); nothing leaks a stack.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { methodAwareNotFound } from "../shared/method-not-allowed.ts";
import {
  CTX_DIM, EMBEDDING_DIM, MAX_CANDIDATES, MAX_FOLLOWEES, candidatesToMatrix, decodeColumnar, parseRankRequest, type CandidateMatrix,
  type RankId, type RankRequest, type RankResponse,
} from "../shared/rank-contract.ts";
import { decodeIds, formatId } from "../shared/u64-ids.ts";
import type { FeatureTableHolder } from "./feature-refresh.ts";
import { InvalidJobError, OverloadError, ShuttingDownError, type MicroBatcher } from "./batcher.ts";
import type { RankingConfig } from "./config.ts";
import { FaultSettingsSchema, type FaultInjector } from "./fault.ts";
import type { ModelHolder } from "./model-holder.ts";
import type { ServiceMetrics } from "./service-metrics.ts";
import { topK } from "./top-k.ts";
import { timingSafeEqualStr } from "../shared/timing-safe.ts";

export interface AppDeps {
  config: RankingConfig;
  holder: ModelHolder;
  batcher: MicroBatcher;
  metrics: ServiceMetrics;
  fault: FaultInjector;
  /** The video feature table behind by-ids requests; null when the service runs without one. */
  features: FeatureTableHolder | null;
  /** True once shutdown began: /readyz turns 503 so the load balancer stops sending new work. */
  draining: () => boolean;
}

type ErrorStatus = 400 | 401 | 404 | 413 | 500 | 503;

function errorJson(c: Context, status: ErrorStatus, code: string, message: string, field?: string, retryAfterS?: number) {
  if (retryAfterS !== undefined) c.header("retry-after", String(retryAfterS));
  return c.json({ error: { code, message, ...(field ? { field } : {}) } }, status);
}

export function createRankApp(d: AppDeps): Hono {
  const app = new Hono();

  // While draining, every response closes its connection, so keep-alive clients reconnect to another
  // replica instead of holding this one open until the shutdown deadline.
  app.use(async (c, next) => {
    await next();
    if (d.draining()) c.res.headers.set("connection", "close");
  });
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: d.config.maxBodyBytes,
      onError: (c) => errorJson(c, 413, "payload_too_large", `body exceeds ${d.config.maxBodyBytes} bytes`),
    }),
  );

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", (c) => {
    // A configured feature table must be loaded before traffic comes: by-ids requests need it.
    const tableReady = !d.features || d.features.table !== null;
    const body = {
      ready: d.holder.ready && tableReady && !d.draining(), draining: d.draining(), model_version: d.holder.meta?.version ?? null,
      feature_table_version: d.features?.table?.version ?? null,
    };
    return c.json(body, body.ready ? 200 : 503);
  });
  app.get("/metrics", (c) => c.body(d.metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/v1/features", (c) => (d.features ? c.json(d.features.status) : errorJson(c, 404, "not_found", "this service runs without a feature table")));
  app.get("/v1/model", (c) => (d.holder.meta ? c.json(d.holder.meta) : errorJson(c, 503, "model_not_ready", "no model loaded", undefined, 1)));

  const guarded = (c: Context) => timingSafeEqualStr(c.req.header("x-internal-secret") ?? "", d.config.internalSecret);
  const unauthorized = (c: Context) => errorJson(c, 401, "unauthorized", "missing or wrong x-internal-secret", "x-internal-secret");

  app.post("/v1/rank", async (c) => {
    const t0 = performance.now();
    const res = d.config.requireSecret && !guarded(c) ? unauthorized(c) : await rank(c, d);
    d.metrics.observeRequest(res.status, performance.now() - t0);
    return res;
  });

  app.post("/v1/admin/reload", async (c) => {
    if (!guarded(c)) return unauthorized(c);
    try {
      const r = await d.holder.reload({ force: true });
      return c.json({ ...r, ready: d.holder.ready });
    } catch (e) {
      return errorJson(c, 503, "reload_failed", (e as Error).message);
    }
  });

  app.get("/v1/admin/fault", (c) => (guarded(c) ? c.json(d.fault.settings) : unauthorized(c)));
  // Forces an incremental refresh (?full=1: a full reload) of the feature table; answers its status.
  app.post("/v1/admin/features/refresh", async (c) => {
    if (!guarded(c)) return unauthorized(c);
    if (!d.features) return errorJson(c, 404, "not_found", "this service runs without a feature table");
    try {
      await (c.req.query("full") === "1" ? d.features.reloadFull() : d.features.refresh());
      return c.json(d.features.status);
    } catch (e) {
      return errorJson(c, 503, "refresh_failed", (e as Error).message);
    }
  });
  app.post("/v1/admin/fault", async (c) => {
    if (!guarded(c)) return unauthorized(c);
    const body = await c.req.json().catch(() => undefined);
    const r = FaultSettingsSchema.safeParse(body);
    if (!r.success) return errorJson(c, 400, "invalid_request", r.error.issues[0].message, r.error.issues[0].path.join(".") || "body");
    return c.json(d.fault.set(r.data));
  });

  // Unknown paths are 404; a known path with a wrong method is 405 with `Allow`.
  app.notFound(methodAwareNotFound(app, (c) => errorJson(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    console.error(`[rank] unhandled: ${err instanceof Error ? err.message : String(err)}`);
    return errorJson(c, 500, "internal", "internal error");
  });
  return app;
}

async function rank(c: Context, d: AppDeps): Promise<Response> {
  if (d.fault.shouldFail()) return errorJson(c, 500, "fault_injected", "injected failure (RANK_FAULT_FAIL_RATE)");

  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return errorJson(c, 400, "invalid_request", "body is not valid JSON", "body");
  }
  const parsed = parseRankRequest(body);
  if (!parsed.ok) return errorJson(c, 400, "invalid_request", parsed.message, parsed.field);
  const req = parsed.value;

  let m: CandidateMatrix | ByIdsMatrix;
  if (req.by_ids) {
    const g = gatherByIds(d, req.by_ids);
    if ("error" in g) return errorJson(c, g.status, g.code, g.error, g.field, g.status === 503 ? 1 : undefined);
    m = g;
  } else if (req.columnar) {
    const dec = decodeColumnar(req.columnar);
    if (!dec.ok) return errorJson(c, 400, "invalid_request", dec.message, dec.field);
    m = dec.value;
  } else m = candidatesToMatrix(req.candidates ?? []);

  const meta = d.holder.meta;
  if (!meta) return errorJson(c, 503, "model_not_ready", "no model loaded yet", undefined, 1);

  const user = new Float32Array(EMBEDDING_DIM);
  user.set(req.user.embedding);
  const rows = m.embeddings.length / EMBEDDING_DIM;
  let result;
  try {
    result = await d.batcher.submit({ user, video: m.embeddings, ctx: m.ctx, rows, checked: "packed" in m });
  } catch (e) {
    if (e instanceof InvalidJobError) return errorJson(c, 400, "invalid_request", e.message, e.field);
    if (e instanceof OverloadError) return errorJson(c, 503, "overloaded", e.message, undefined, 1);
    if (e instanceof ShuttingDownError) return errorJson(c, 503, "shutting_down", e.message, undefined, 1);
    console.error(`[rank] batch failed: ${(e as Error).message}`);
    return errorJson(c, 503, "inference_failed", "inference failed", undefined, 1);
  }

  const order = topK(result.scores, req.top_k ?? rows);
  const byIds = "packed" in m ? m : null;
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
  return c.json(out);
}

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
function gatherByIds(d: AppDeps, form: NonNullable<RankRequest["by_ids"]>): ByIdsMatrix | GatherError {
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

const round2 = (x: number) => Math.round(x * 100) / 100;
