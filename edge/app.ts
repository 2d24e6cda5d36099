import { Hono } from "hono";
import { sessionFromHeader, type Session } from "../shared/auth.ts";
import { FeedQuerySchema } from "../shared/contract.ts";
import { ApiError, fromZodError, handleError, notFound } from "../shared/errors.ts";
import type { Region } from "../shared/regions.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { callOrigin } from "./origin-client.ts";
import { readRegion } from "./region-router.ts";

// Public edge worker: the HTTP contract of DESIGN §2.
type Vars = { requestId: string; t0: number };
export type EdgeEnv = { Bindings: EdgeBindings; Variables: Vars };

export const app = new Hono<EdgeEnv>();
app.onError((err, c) => {
  const res = handleError(err, c);
  res.headers.set("x-request-id", c.get("requestId") ?? crypto.randomUUID());
  return res;
});
app.notFound(notFound);

app.use("*", async (c, next) => {
  const incoming = c.req.header("x-request-id");
  c.set("requestId", incoming && /^[A-Za-z0-9_\-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID());
  c.set("t0", performance.now());
  await next();
  c.res.headers.set("x-request-id", c.get("requestId"));
});

function cfOf(req: Request): { country?: string; continent?: string } | null {
  const cf = (req as unknown as { cf?: { country?: string; continent?: string } }).cf;
  return cf ?? null;
}

app.get("/v1/feed", async (c) => {
  const cfg = edgeConfig(c.env);
  const q = FeedQuerySchema.safeParse(c.req.query());
  if (!q.success) throw fromZodError(q.error);
  const session: Session | null = await sessionFromHeader(c.req.header("authorization"), cfg.SESSION_SECRET);
  const region: Region = readRegion(cfg, {
    override: c.req.query("region") ?? c.req.header("x-fyp-region"),
    cf: cfOf(c.req.raw),
    homeRegion: session?.homeRegion,
  });
  const params = new URLSearchParams({ count: String(q.data.count) });
  if (q.data.cursor) params.set("cursor", q.data.cursor);
  if (session) params.set("user_id", session.userId);
  const res = await callOrigin(cfg, region, `/internal/v1/feed?${params}`, { headers: { "x-request-id": c.get("requestId") } });
  if (res.status >= 400 && res.status < 500) {
    const body = (await res.json()) as { error?: { code: string; message: string; field?: string } };
    throw new ApiError(res.status as 400, body.error?.code ?? "bad_request", body.error?.message ?? "rejected by origin", body.error?.field);
  }
  if (!res.ok) throw new ApiError(503, "unavailable", "feed temporarily unavailable");
  const feed = (await res.json()) as { source: string; degradation_level: number };
  const edgeMs = performance.now() - c.get("t0");
  const originTiming = res.headers.get("server-timing");
  c.header("x-cache", "BYPASS");
  c.header("x-fyp-source", feed.source);
  c.header("x-region", region);
  c.header("x-degradation-level", String(feed.degradation_level));
  c.header("server-timing", [`edge;dur=${edgeMs.toFixed(1)}`, originTiming].filter(Boolean).join(", "));
  c.header("cache-control", "private, no-store");
  return c.json(feed);
});

app.get("/healthz", (c) => c.json({ status: "ok" }));
