import { Hono } from "hono";
import { z } from "zod";
import { ApiError, fromZodError, handleError, notFound } from "../shared/errors.ts";
import { bodyLimitMiddleware } from "../shared/body-limit.ts";
import { INTERNAL_MAX_BODY_BYTES, readJsonBody } from "../shared/json-body.ts";
import { singleQueryParams } from "../shared/query-params.ts";
import { methodAwareNotFound } from "../shared/method-not-allowed.ts";
import { timingSafeEqualStr } from "../shared/timing-safe.ts";
import { type AppEnv, metricsFor, releaseDeps, requestDeps as deps } from "./context.ts";
import { originConfig } from "./env.ts";
import { originSignals } from "./signals.ts";
import { breakerStateGauge } from "../shared/circuit-breaker.ts";
import { catalogRoutes } from "./catalog-routes.ts";
import { replicationRoutes } from "./replication/routes.ts";
import { videoWriteRoutes } from "./video-write-routes.ts";
import { flushCounters } from "./counter-flush.ts";
import { eventsRoutes } from "./events-routes.ts";
import { feedBulkhead, feedRoutes } from "./feed/route.ts";
import { dbFaultRoutes } from "./db-fault.ts";

// Regional origin worker: /internal/* is called by the edge (service secret), /metrics by Prometheus.

export const app = new Hono<AppEnv>();
app.onError(handleError);
// Unknown paths are 404; a known path with a wrong method is 405 with `Allow`.
app.notFound(methodAwareNotFound(app, notFound));

app.use("*", releaseDeps);
app.use("*", bodyLimitMiddleware(INTERNAL_MAX_BODY_BYTES));
app.use("*", singleQueryParams());
app.use("/internal/*", async (c, next) => {
  const cfg = originConfig(c.env);
  if (!timingSafeEqualStr(c.req.header("x-internal-secret") ?? "", cfg.INTERNAL_SECRET))
    throw new ApiError(401, "unauthorized", "internal endpoint: missing or wrong x-internal-secret", "x-internal-secret");
  await next();
});

// Catalogue replication: a tick after each health probe, lag and checksum endpoints (before the health route).
replicationRoutes(app, deps);

app.get("/internal/v1/health", async (c) => {
  const d = deps(c);
  d.metrics.request("health");
  const checks: Record<string, string> = {};
  await Promise.all([
    d.db.probe(500).then(() => (checks.db = "ok"), () => (checks.db = "down")),
    d.signals.redis.observe(() => d.redis.ping()).then(() => (checks.redis = "ok"), () => (checks.redis = "down")),
  ]);
  const snap = d.signals.snapshot();
  d.metrics.degradationLevel(snap.degradation_level as number);
  return c.json({ region: d.cfg.REGION, status: snap.degradation_level ? "degraded" : "ok", checks, ...snap, bulkhead: { active: feedBulkhead.active, shed: feedBulkhead.rejected } });
});

// Admin (via the edge): force a level 0–3 on this origin, or release it with null.
const ForcedLevelBody = z.object({ level: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.null()]) }).strict();
app.post("/internal/v1/admin/degradation", async (c) => {
  const d = deps(c);
  const p = ForcedLevelBody.safeParse(await readJsonBody(c.req, INTERNAL_MAX_BODY_BYTES));
  if (!p.success) throw fromZodError(p.error);
  d.signals.forcedLevel = p.data.level;
  return c.json({ region: d.cfg.REGION, ...d.signals.snapshot() });
});

// Fault hook (operators, chaos and e2e tests): a delay before every Postgres query of this isolate.
dbFaultRoutes(app);

feedRoutes(app, deps);
catalogRoutes(app, deps);
videoWriteRoutes(app, deps);
eventsRoutes(app, deps);

app.post("/internal/v1/counters/flush", async (c) => {
  const d = deps(c);
  d.metrics.request("counters_flush");
  return c.json(await flushCounters(d.db, d.redis, d.cfg.REGION));
});

app.get("/metrics", (c) => {
  const cfg = originConfig(c.env);
  const m = metricsFor(cfg.REGION);
  const sig = originSignals(cfg.LEVEL_WINDOW_MS, cfg.LEVEL_DB_P99_MS);
  m.breakerState("ranking", breakerStateGauge(sig.breaker.state));
  m.degradationLevel(sig.level().level);
  return c.text(m.render(), 200, { "content-type": "text/plain; version=0.0.4" });
});

