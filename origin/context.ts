import type { Context, MiddlewareHandler } from "hono";
import type { TimingVariables } from "hono/timing";
import type { Db } from "./db.ts";
import { openDb } from "./db.ts";
import { originConfig, type OriginBindings, type OriginConfig } from "./env.ts";
import { Metrics } from "./metrics.ts";
import { redisFor } from "./redis.ts";
import { originSignals, type OriginSignals } from "./signals.ts";
import type { Redis } from "@upstash/redis/cloudflare";

// Per-request dependencies of origin handlers: config, a request-scoped Postgres pool, the isolate's
// Redis client and metrics registry. The pool is opened lazily (health/metrics may not need it) and
// ended after the response by `releaseDeps`, through waitUntil so the client does not wait for it.
// `metric` is hono/timing's server-timing state (the feed route writes its Timings there).
export type AppEnv = { Bindings: OriginBindings; Variables: { deps?: RequestDeps } & TimingVariables };

/**
 * Time (ms) a request spent per named step (candidates, features, rank …), summed when a step repeats;
 * the route turns them into `server-timing` entries (hono/timing's setMetric). A step that throws still counts.
 */
export class Timings {
  readonly spans: Record<string, number> = {};

  async time<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  add(name: string, ms: number): void {
    this.spans[name] = (this.spans[name] ?? 0) + ms;
  }
}

export interface RequestDeps {
  cfg: OriginConfig;
  /** The request's Postgres pool: every query is a latency sample of the database's health (origin/db.ts). */
  db: Db;
  /**
   * A pool of its own that feeds no health signal, for a batch job's bulk reads (the hot pool's 10,000-row
   * head query): a slow bulk read must never move the region's degradation level. Opened on first use,
   * ended with the request.
   */
  batchDb(): Db;
  redis: Redis;
  metrics: Metrics;
  signals: OriginSignals;
  timings: Timings;
  /** Background work that must not delay the response (probes, write-backs). */
  waitUntil(p: Promise<unknown>): void;
}

let metrics: Metrics | null = null;
export const metricsFor = (region: string) => (metrics ??= new Metrics(region));

/** The batch pool a request opened (RequestDeps.batchDb), ended with the request's own by releaseDeps. */
const batchPools = new WeakMap<RequestDeps, Db>();

export function requestDeps(c: Context<AppEnv>): RequestDeps {
  const have = c.get("deps");
  if (have) return have;
  const cfg = originConfig(c.env);
  const signals = originSignals(cfg.LEVEL_WINDOW_MS, cfg.LEVEL_DB_P99_MS);
  const d: RequestDeps = { cfg, db: openDb(cfg, signals.db), redis: redisFor(cfg), metrics: metricsFor(cfg.REGION), signals, timings: new Timings(),
    batchDb: () => {
      let pool = batchPools.get(d);
      if (!pool) batchPools.set(d, (pool = openDb(cfg)));
      return pool;
    },
    waitUntil: (p: Promise<unknown>) => c.executionCtx.waitUntil(p.catch(() => {})) };
  c.set("deps", d);
  return d;
}

export const releaseDeps: MiddlewareHandler<AppEnv> = async (c, next) => {
  try {
    await next();
  } finally {
    const d = c.get("deps");
    if (d) c.executionCtx.waitUntil(Promise.all([d.db.end(), batchPools.get(d)?.end()]));
  }
};
