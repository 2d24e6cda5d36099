import type { Context, Hono } from "hono";
import { z } from "zod";
import { isDegradationLevel, levelPolicy } from "../shared/degradation.ts";
import { ApiError, fromZodError } from "../shared/errors.ts";
import { bodyLimitMiddleware } from "../shared/body-limit.ts";
import { readJsonBody } from "../shared/json-body.ts";
import { RegionSchema } from "../shared/regions.ts";
import { timingSafeEqualStr } from "../shared/timing-safe.ts";
import type { EdgeEnv } from "./app-env.ts";
import { edgeConfig } from "./env.ts";
import { configHistory, recordConfig } from "./config-history.ts";
import { setForcedLevel, setForcedLevels } from "./forced-levels.ts";
import { callOrigin } from "./origin-client.ts";
import { prewarm } from "./prewarm.ts";
import { deadLetterRoutes } from "./dead-letter-routes.ts";
import { parseTimingOverrides } from "./region-health-config.ts";
import { invalidateRegionViews, regionHealth } from "./routing.ts";
import { verifyRegionSync } from "./replication-gate.ts";

// Admin API (Authorization: Bearer <ADMIN_TOKEN>): force/release degradation levels, pre-warm on
// demand, drain/restore a region.
export const RollbackBody = z.object({ version: z.number().int().positive() }).strict();
export const DegradationBody = z.object({ region: RegionSchema, level: z.number().int().min(0).max(5).nullable() }).strict();

function requireAdmin(c: Context<EdgeEnv>): void {
  const cfg = edgeConfig(c.env);
  const h = c.req.header("authorization") ?? "";
  if (!h) throw new ApiError(401, "unauthorized", "admin token required", "authorization");
  if (!timingSafeEqualStr(h, `Bearer ${cfg.ADMIN_TOKEN}`)) throw new ApiError(403, "forbidden", "not an admin token", "authorization");
}

const ADMIN_MAX_BODY_BYTES = 10_000;
const jsonBody = (c: Context<EdgeEnv>) => readJsonBody(c.req, ADMIN_MAX_BODY_BYTES);

export function adminRoutes(app: Hono<EdgeEnv>): void {
  app.use("/v1/admin/*", async (c, next) => {
    requireAdmin(c);
    await next();
  });
  app.use("/v1/admin/*", bodyLimitMiddleware(ADMIN_MAX_BODY_BYTES));

  app.post("/v1/admin/prewarm", async (c) => c.json(await prewarm(c.env)));
  deadLetterRoutes(app);

  app.post("/v1/admin/degradation", async (c) => {
    const parsed = DegradationBody.safeParse(await jsonBody(c));
    if (!parsed.success) throw fromZodError(parsed.error);
    const { region, level } = parsed.data;
    const forced = await setForcedLevel(c.env.FYP_KV, region, level);
    await recordConfig(c.env.FYP_KV, `${region} forced level ${level ?? "released"}`, { forced_levels: forced });
    // The origin acts on levels 1–3 itself; tell it (best effort — the edge still enforces 4–5).
    const originLevel = isDegradationLevel(level) && levelPolicy(level).originServes ? level : null;
    const res = await callOrigin(edgeConfig(c.env), region, "/internal/v1/admin/degradation", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ level: originLevel }),
    }).catch((e: Error) => e);
    const origin = res instanceof Error ? { ok: false, error: res.message } : { ok: res.ok, status: res.status };
    if (!(res instanceof Error)) await res.body?.cancel();
    return c.json({ region, level, forced, origin });
  });

  // Runtime override of the failover timings (probe interval/timeout, failures, anti-flap, recovery).
  app.post("/v1/admin/region-health/timings", async (c) => {
    const rh = regionHealth(c.env);
    if (!rh) throw new ApiError(409, "not_configured", "RegionHealth is not bound in this deployment");
    const timings = parseTimingOverrides(await jsonBody(c));
    const applied = (await rh.configure(timings)) as Record<string, number>;
    await recordConfig(c.env.FYP_KV, `failover timings ${JSON.stringify(timings)}`, { health_timings: applied });
    invalidateRegionViews();
    return c.json({ timings: applied });
  });

  // Config history: the newest 100 versions, and rollback to any of them (applied, then recorded as a
  // new version so the rollback itself can be undone).
  app.get("/v1/admin/config/history", async (c) => c.json({ versions: (await configHistory(c.env.FYP_KV)).reverse() }));

  app.post("/v1/admin/config/rollback", async (c) => {
    const p = RollbackBody.safeParse(await jsonBody(c));
    if (!p.success) throw fromZodError(p.error);
    const target = (await configHistory(c.env.FYP_KV)).find((v) => v.version === p.data.version);
    if (!target) throw new ApiError(404, "not_found", `no kept config version ${p.data.version}`, "version");
    await setForcedLevels(c.env.FYP_KV, target.config.forced_levels);
    const rh = regionHealth(c.env);
    if (rh && target.config.health_timings) await rh.configure(target.config.health_timings);
    invalidateRegionViews();
    const entry = await recordConfig(c.env.FYP_KV, `rollback to v${target.version}`, target.config);
    return c.json(entry);
  });

  app.post("/v1/admin/regions/:region/:action{drain|restore}", async (c) => {
    const region = RegionSchema.safeParse(c.req.param("region"));
    if (!region.success) throw new ApiError(400, "invalid_request", "must be one of us, eu, apac", "region");
    const rh = regionHealth(c.env);
    if (!rh) throw new ApiError(409, "not_configured", "RegionHealth is not bound in this deployment");
    const action = c.req.param("action") as "drain" | "restore";
    // Recovery step 8: the global tables must agree before the region takes traffic again (?force=1 skips).
    const sync = action === "restore" && c.req.query("force") !== "1" ? await verifyRegionSync(c.env, region.data) : undefined;
    if (sync?.verified && !sync.in_sync)
      throw new ApiError(409, "not_in_sync", `catalogue of ${region.data} not in sync: ${sync.mismatches.map((m) => `${m.table}/${m.owner}@${m.region}`).join(", ")}; retry once replication caught up, or ?force=1`, "region");
    await (action === "drain" ? rh.drain(region.data) : rh.restore(region.data));
    invalidateRegionViews();
    return c.json({ region: region.data, action, ...(sync ? { sync } : {}), snapshot: await rh.snapshot() });
  });
}
