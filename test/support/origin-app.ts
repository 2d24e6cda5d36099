import type { Redis } from "@upstash/redis/cloudflare";
import { Hono } from "hono";
import { type AppEnv, type RequestDeps, Timings } from "../../origin/context.ts";
import type { Db } from "../../origin/db.ts";
import type { OriginConfig } from "../../origin/env.ts";
import { Metrics } from "../../origin/metrics.ts";
import { OriginSignals } from "../../origin/signals.ts";
import { handleError } from "../../shared/errors.ts";

// An origin's routes over dependencies a test chooses (a scripted or real Db, a scripted or real Redis),
// mounted on a Hono app with the worker's error handler, for route tests without workerd. Test-only:
// product code never imports this.

/** A route-mounting function of origin/*-routes.ts (feedRoutes, eventsRoutes, catalogRoutes, …). */
export type MountRoutes = (app: Hono<AppEnv>, deps: () => RequestDeps) => void;

/**
 * Request deps of a us origin over `db` and `redis`, fresh signals, metrics and timings; `cfg` overrides;
 * `batchDb` is the batch jobs' unobserved pool (default: `db` itself).
 */
export function originTestDeps(db: Db, redis: Redis, cfg: Partial<OriginConfig> = {}, batchDb: Db = db): RequestDeps {
  return {
    cfg: { REGION: "us", MEDIA_BASE_URL: "https://media.test", INTERNAL_SECRET: "secret-secret", ...cfg } as OriginConfig,
    db, batchDb: () => batchDb, redis, metrics: new Metrics("us"), signals: new OriginSignals(), timings: new Timings(), waitUntil: () => {},
  };
}

/** A Hono app with the worker's error handler and `mounts` over `deps` (the same deps for every request). */
export function originTestApp(deps: RequestDeps, ...mounts: MountRoutes[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(handleError);
  for (const mount of mounts) mount(app, () => deps);
  return app;
}

/** An execution context for `app.request(…, env, ctx)` whose waitUntil drops its promise. */
export const TEST_EXECUTION_CTX = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };
