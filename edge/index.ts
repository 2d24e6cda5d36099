import type { ExecutionContext, MessageBatch, ScheduledController } from "@cloudflare/workers-types";
import { app } from "./app.ts";
import type { EdgeBindings } from "./env.ts";
import { consumeEvents } from "./events-consumer.ts";
import { prewarm } from "./prewarm.ts";
import { countingBatch, countingQueue } from "./queue-counts.ts";

// Worker entry: HTTP (Hono), the pre-warm Cron trigger, and the EVENTS queue consumer. The Durable
// Object classes are exported here because wrangler binds them by class name from the main module.
export { Coalescer } from "./coalescer-do.ts";
export { RegionHealth } from "./region-health.ts";

// The EVENTS producer counted (edge/queue-counts.ts: what a local stop would drop), wrapped once per env.
const counted = new WeakMap<EdgeBindings, EdgeBindings>();
function withCountedQueue(env: EdgeBindings): EdgeBindings {
  if (!env.EVENTS) return env;
  let e = counted.get(env);
  if (!e) counted.set(env, (e = { ...env, EVENTS: countingQueue(env.EVENTS) }));
  return e;
}

export default {
  fetch: (req: Request, env: EdgeBindings, ctx: ExecutionContext) => app.fetch(req, withCountedQueue(env), ctx),
  async scheduled(_c: ScheduledController, env: EdgeBindings, ctx: ExecutionContext) {
    ctx.waitUntil(prewarm(env).then((r) => console.log(`prewarm: ${JSON.stringify(r)}`)));
  },
  async queue(batch: MessageBatch<unknown>, env: EdgeBindings) {
    await consumeEvents(countingBatch(batch), env);
  },
};
