import type { ExecutionContext, ScheduledController } from "@cloudflare/workers-types";
import { app } from "./app.ts";
import { flushCounters } from "./counter-flush.ts";
import { openDb } from "./db.ts";
import { originConfig, type OriginBindings } from "./env.ts";
import { redisFor } from "./redis.ts";

// Worker entry of a regional origin: HTTP, plus a Cron trigger that flushes live view/like counters
// from Redis into Postgres in batches.
export default {
  fetch: app.fetch,
  async scheduled(_c: ScheduledController, env: OriginBindings, ctx: ExecutionContext) {
    const cfg = originConfig(env);
    const db = openDb(cfg);
    ctx.waitUntil(
      flushCounters(db, redisFor(cfg), cfg.REGION)
        .then((r) => console.log(`counter flush: ${JSON.stringify(r)}`), (e: Error) => console.warn(`counter flush failed: ${e.message}`))
        .finally(() => db.end()),
    );
  },
};
