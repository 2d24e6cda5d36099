import type { Hono } from "hono";
import { z } from "zod";
import { fromZodError } from "../shared/errors.ts";
import { INTERNAL_MAX_BODY_BYTES, readJsonBody } from "../shared/json-body.ts";
import type { AppEnv } from "./context.ts";

// Fault hook of the database path: a delay added before every Postgres query this origin isolate runs
// (origin/db.ts), so "the database got slow" (level 3 at database latency > 100 ms, DESIGN §3) can be
// shown on the real stack. Pausing Postgres cannot show it: a paused server makes calls time out, which
// is "down". The ranking service has the same kind of hook (gpu-inference/fault.ts).
//
// Off (0) unless an operator sets it: `POST /internal/v1/admin/db-fault {"delay_ms": 150}`, behind the
// origin's /internal/* guard (x-internal-secret), so nothing without the internal secret can turn it on.
// Per isolate, like the signals it degrades; `{"delay_ms": 0}` turns it off.

/** Largest accepted delay (ms): above every query timeout of the origin (2 s default), so any can be hit. */
export const DB_FAULT_MAX_DELAY_MS = 10_000;

/** This isolate's setting; origin/db.ts reads it before each query. */
export const dbFault = { delayMs: 0 };

const DbFaultBody = z.object({ delay_ms: z.number().int().min(0).max(DB_FAULT_MAX_DELAY_MS) }).strict();

/**
 * GET/POST /internal/v1/admin/db-fault: read or set `{delay_ms}` (integer ms, 0…10,000). Answers the
 * setting now in force; a malformed body is a 400 naming the field.
 */
export function dbFaultRoutes(app: Hono<AppEnv>): void {
  app.get("/internal/v1/admin/db-fault", (c) => c.json({ delay_ms: dbFault.delayMs }));
  app.post("/internal/v1/admin/db-fault", async (c) => {
    const p = DbFaultBody.safeParse(await readJsonBody(c.req, INTERNAL_MAX_BODY_BYTES));
    if (!p.success) throw fromZodError(p.error);
    dbFault.delayMs = p.data.delay_ms;
    if (dbFault.delayMs) console.warn(`db fault hook: +${dbFault.delayMs} ms before every query of this isolate`);
    return c.json({ delay_ms: dbFault.delayMs });
  });
}
