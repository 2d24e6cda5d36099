import { Hono } from "hono";
import { z } from "zod";
import { FeedQuerySchema, FeedResponseSchema } from "../shared/contract.ts";
import { ApiError, fromZodError, handleError, notFound } from "../shared/errors.ts";
import { parseUserId } from "../shared/ids.ts";
import { bodyLimitMiddleware, INTERNAL_MAX_BODY_BYTES, readJsonBody } from "../shared/json-body.ts";
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
import { Bulkhead } from "./bulkhead.ts";
import { buildFeed } from "./feed-service.ts";
import { FORCED_LEVEL_HEADER, parseForcedLevelHeader } from "../shared/forced-level-header.ts";
import { checkUserRate } from "./user-rate-limit.ts";
import { dbFaultRoutes } from "./db-fault.ts";

// Regional origin worker: /internal/* is called by the edge (service secret), /metrics by Prometheus.

function serverTiming(t: Record<string, number>): string {
  return Object.entries(t)
    .map(([k, v]) => `${k};dur=${v.toFixed(1)}`)
    .join(", ");
}

export const app = new Hono<AppEnv>();
/** Concurrent feed computations per isolate before requests are answered cache-only (origin/bulkhead.ts). */
const feedBulkhead = new Bulkhead(12);
app.onError(handleError);
// Unknown paths are 404; a known path with a wrong method is 405 with `Allow`.
app.notFound(methodAwareNotFound(app, notFound));

app.use("*", releaseDeps);
app.use("*", bodyLimitMiddleware(INTERNAL_MAX_BODY_BYTES));
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

app.get("/internal/v1/feed", async (c) => {
  const t0 = performance.now();
  const d = deps(c);
  d.metrics.request("feed");
  const q = FeedQuerySchema.safeParse({ count: c.req.query("count"), cursor: c.req.query("cursor") });
  if (!q.success) throw fromZodError(q.error);
  const rawUser = c.req.query("user_id");
  let userId: string | null = null;
  if (rawUser) {
    const id = parseUserId(rawUser);
    if (id === null) throw new ApiError(400, "invalid_request", "must look like u123", "user_id");
    userId = id.toString();
  }
  if (userId && d.signals.redis.view().available) await checkUserRate(d.redis, userId);
  const req = { userId, count: q.data.count, cursor: q.data.cursor, forcedLevel: parseForcedLevelHeader(c.req.header(FORCED_LEVEL_HEADER)) };
  const feed = await feedBulkhead.run(() => buildFeed(d, req), () => buildFeed(d, { ...req, shed: true }));
  const total = performance.now() - t0;
  d.metrics.feedLatencyMs(total);
  c.header("server-timing", serverTiming({ ...d.timings, origin: total }));
  return c.json(FeedResponseSchema.parse(feed));
});

catalogRoutes(app, deps);
videoWriteRoutes(app, deps);
eventsRoutes(app, deps);

app.post("/internal/v1/counters/flush", async (c) => {
  const d = deps(c);
  d.metrics.request("counters_flush");
  return c.json(await flushCounters(d.db, d.redis, d.cfg.REGION));
});

app.get("/metrics", (c) => {
  const m = metricsFor(originConfig(c.env).REGION);
  const sig = originSignals();
  m.breakerState("ranking", breakerStateGauge(sig.breaker.state));
  m.degradationLevel(sig.level().level);
  return c.text(m.render(), 200, { "content-type": "text/plain; version=0.0.4" });
});

