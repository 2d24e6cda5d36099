import { app } from "./app.ts";

// Worker entry: HTTP via Hono (scheduled and queue handlers join here as the edge grows).
export default { fetch: app.fetch };
