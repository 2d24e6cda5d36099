import type { Context } from "hono";
import type { Db } from "./db.ts";
import { openDb } from "./db.ts";
import { originConfig, type OriginBindings, type OriginConfig } from "./env.ts";
import { Metrics } from "./metrics.ts";
import { redisFor } from "./redis.ts";
import type { Redis } from "@upstash/redis/cloudflare";

// Per-request dependencies of origin handlers: config, a request-scoped Postgres pool (ended via
// waitUntil), the isolate's Redis client and metrics registry.
export type AppEnv = { Bindings: OriginBindings };

export interface RequestDeps {
  cfg: OriginConfig;
  db: Db;
  redis: Redis;
  metrics: Metrics;
  timings: Record<string, number>;
}

let metrics: Metrics | null = null;
export const metricsFor = (region: string) => (metrics ??= new Metrics(region));

export function requestDeps(c: Context<AppEnv>): RequestDeps {
  const cfg = originConfig(c.env);
  const db = openDb(cfg);
  c.executionCtx.waitUntil(db.end());
  return { cfg, db, redis: redisFor(cfg), metrics: metricsFor(cfg.REGION), timings: {} };
}
