import type { ExecutionContext, MessageBatch, ScheduledController } from "@cloudflare/workers-types";
import { app } from "./app.ts";
import type { EdgeBindings } from "./env.ts";
import { consumeEvents } from "./events-consumer.ts";
import { prewarm } from "./prewarm.ts";

// Worker entry: HTTP (Hono), the pre-warm Cron trigger, and the EVENTS queue consumer. The Durable
// Object classes are exported here because wrangler binds them by class name from the main module.
export { Coalescer } from "./coalescer-do.ts";
export { RegionHealth } from "./region-health.ts";

export default {
  fetch: app.fetch,
  async scheduled(_c: ScheduledController, env: EdgeBindings, ctx: ExecutionContext) {
    ctx.waitUntil(prewarm(env).then((r) => console.log(`prewarm: ${JSON.stringify(r)}`)));
  },
  async queue(batch: MessageBatch<unknown>, env: EdgeBindings) {
    await consumeEvents(batch, env);
  },
};
