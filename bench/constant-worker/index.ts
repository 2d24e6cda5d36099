import { Hono } from "hono";

// The runtime's floor for the edge benchmark: a plain Hono worker returning a constant JSON body, run
// under the same `wrangler dev` (workerd) as the edge worker.
const app = new Hono();
app.get("*", (c) => c.json({ ok: true, items: [] }));
export default { fetch: app.fetch };
