// HTTP surface of the ranking service. Every bad input is a 400 with the offending field; overload and
// "no model yet" are 503 + retry-after (the caller's breaker/fallback handles them); nothing leaks a stack.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { methodAwareNotFound } from "../shared/method-not-allowed.ts";
import {
  EMBEDDING_DIM, candidatesToMatrix, decodeColumnar, parseRankRequest, type CandidateMatrix, type RankResponse,
} from "../shared/rank-contract.ts";
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
    const body = { ready: d.holder.ready && !d.draining(), draining: d.draining(), model_version: d.holder.meta?.version ?? null };
    return c.json(body, body.ready ? 200 : 503);
  });
  app.get("/metrics", (c) => c.body(d.metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
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

  let m: CandidateMatrix;
  if (req.columnar) {
    const dec = decodeColumnar(req.columnar);
    if (!dec.ok) return errorJson(c, 400, "invalid_request", dec.message, dec.field);
    m = dec.value;
  } else m = candidatesToMatrix(req.candidates ?? []);

  const meta = d.holder.meta;
  if (!meta) return errorJson(c, 503, "model_not_ready", "no model loaded yet", undefined, 1);

  const user = new Float32Array(EMBEDDING_DIM);
  user.set(req.user.embedding);
  let result;
  try {
    result = await d.batcher.submit({ user, video: m.embeddings, ctx: m.ctx, rows: m.ids.length });
  } catch (e) {
    if (e instanceof InvalidJobError) return errorJson(c, 400, "invalid_request", e.message, e.field);
    if (e instanceof OverloadError) return errorJson(c, 503, "overloaded", e.message, undefined, 1);
    if (e instanceof ShuttingDownError) return errorJson(c, 503, "shutting_down", e.message, undefined, 1);
    console.error(`[rank] batch failed: ${(e as Error).message}`);
    return errorJson(c, 503, "inference_failed", "inference failed", undefined, 1);
  }

  const order = topK(result.scores, req.top_k ?? m.ids.length);
  const items = new Array(order.length);
  for (let i = 0; i < order.length; i++) items[i] = { id: m.ids[order[i]], score: result.scores[order[i]] };
  const out: RankResponse = {
    model_version: result.modelVersion || meta.version,
    items,
    batch_rows: result.batchRows,
    timing_ms: { queue: round2(result.queueMs), infer: round2(result.inferMs) },
  };
  return c.json(out);
}

const round2 = (x: number) => Math.round(x * 100) / 100;
