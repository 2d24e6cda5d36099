import type { Hono } from "hono";
import { z } from "zod";
import { ApiError, fromZodError } from "../shared/errors.ts";
import { readJsonBody } from "../shared/json-body.ts";
import type { EdgeEnv } from "./app-env.ts";
import { listDeadLetters, parkDeadLetter, takeDeadLetters } from "./dead-letters.ts";

// Admin API of the events dead letters (mounted under /v1/admin/*, so the admin token is required):
//   GET  /v1/admin/dlq          → { count, letters: [{ id, reason, parked_at, attempts, queue, body }] }
//   POST /v1/admin/dlq/replay   { ids?: string[] } → { replayed: n, failed: [{ id, reason }] }
// A replay puts each message back on the EVENTS queue unchanged; one that cannot be sent is parked again.
export const ReplayBody = z.object({ ids: z.array(z.string().min(1).max(200)).min(1).max(1000).optional() }).strict();

export function deadLetterRoutes(app: Hono<EdgeEnv>): void {
  app.get("/v1/admin/dlq", async (c) => c.json(await listDeadLetters(c.env.FYP_KV, 1000)));

  app.post("/v1/admin/dlq/replay", async (c) => {
    const p = ReplayBody.safeParse(await readJsonBody(c.req, 100_000));
    if (!p.success) throw fromZodError(p.error);
    const queue = c.env.EVENTS;
    if (!queue) throw new ApiError(409, "not_configured", "the EVENTS queue is not bound in this deployment");
    const letters = await takeDeadLetters(c.env.FYP_KV, p.data.ids);
    const failed: { id: string; reason: string }[] = [];
    for (const l of letters) {
      try {
        await queue.send(l.body, { contentType: "json" });
      } catch (e) {
        failed.push({ id: l.id, reason: (e as Error).message });
        await parkDeadLetter(c.env.FYP_KV, { ...l, parked_at: l.parked_at });
      }
    }
    return c.json({ replayed: letters.length - failed.length, failed });
  });
}
