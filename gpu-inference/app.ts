// HTTP surface of the ranking service. Every bad input is a 400 with the offending field; overload and
// "no model yet" are 503 + retry-after (the caller's breaker/fallback handles them); nothing leaks a stack.
import { Hono, type Context } from "hono";
import { bodyLimitMiddleware } from "../shared/body-limit.ts";
import { methodAwareNotFound } from "../shared/method-not-allowed.ts";
import type { FeatureTableHolder } from "./feature-refresh.ts";
import type { MicroBatcher } from "./batcher.ts";
import { handleRank } from "./rank-handler.ts";
import type { RankingConfig } from "./config.ts";
import { FaultSettingsSchema, type FaultInjector } from "./fault.ts";
import type { ModelHolder } from "./model-holder.ts";
import type { ServiceMetrics } from "./service-metrics.ts";
import { timingSafeEqualStr } from "../shared/timing-safe.ts";
import { isJsonContentType, isJsonObject, unsupportedMediaType } from "../shared/json-body.ts";
import { singleQueryParams } from "../shared/query-params.ts";

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

type ErrorStatus = 400 | 401 | 404 | 413 | 415 | 500 | 503;

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
  app.use("/v1/*", singleQueryParams());
  app.use("/v1/*", bodyLimitMiddleware(d.config.maxBodyBytes));

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
    const type = c.req.header("content-type");
    if (!isJsonContentType(type)) return errorJson(c, 415, "unsupported_media_type", unsupportedMediaType(type).message, "content-type");
    const body = await c.req.json().catch(() => undefined);
    if (!isJsonObject(body)) return errorJson(c, 400, "invalid_request", "body must be a JSON object", "body");
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

/** The Hono form of POST /v1/rank (gpu-inference/rank-handler.ts does the work; server.ts serves the same handler without Hono). */
async function rank(c: Context, d: AppDeps): Promise<Response> {
  const reply = await handleRank(d, () => c.req.json(), c.req.header("content-type"));
  if (reply.retryAfterS !== undefined) c.header("retry-after", String(reply.retryAfterS));
  return c.json(reply.body, reply.status);
}
