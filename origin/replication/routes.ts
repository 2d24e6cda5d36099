import type { Context, Hono } from "hono";
import type { AppEnv, RequestDeps } from "../context.ts";
import { openDb } from "../db.ts";
import { globalChecksums } from "./checksums.ts";
import { replicationTick, type TickDeps } from "./tick.ts";

// Replication endpoints of an origin (edge → origin, internal secret):
//  - after every /internal/v1/health probe: a replication tick in the background (heartbeat, lag,
//    cache invalidation; origin/replication/tick.ts) — the probes are its clock;
//  - GET /internal/v1/replication: a fresh tick's snapshot (lag per flow into this region), for
//    /v1/status and the ops page;
//  - GET /internal/v1/replication/checksums: per owner region, row count and order-independent checksum
//    of each global table, for the sync check before a recovering region is re-added.
// Must be registered before the health route (the middleware runs around it).

const tickDeps = (d: RequestDeps): TickDeps => ({ db: d.db, redis: d.redis, metrics: d.metrics, region: d.cfg.REGION, heartbeatPeriodMs: d.cfg.REPLICATION_HEARTBEAT_MS });

export function replicationRoutes(app: Hono<AppEnv>, deps: (c: Context<AppEnv>) => RequestDeps): void {
  app.use("/internal/v1/health", async (c, next) => {
    await next();
    const d = deps(c);
    // Its own connection: the request's pool is ended as soon as the response is out.
    const db = openDb(d.cfg, d.signals.db, 1);
    d.waitUntil(replicationTick({ ...tickDeps(d), db }).finally(() => db.end()));
  });

  app.get("/internal/v1/replication", async (c) => {
    const d = deps(c);
    d.metrics.request("replication");
    return c.json(await replicationTick(tickDeps(d), true), 200, { "cache-control": "no-store" });
  });

  app.get("/internal/v1/replication/checksums", async (c) => {
    const d = deps(c);
    d.metrics.request("replication_checksums");
    return c.json({ region: d.cfg.REGION, tables: await globalChecksums(d.db) }, 200, { "cache-control": "no-store" });
  });
}
