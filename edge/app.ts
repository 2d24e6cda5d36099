import { Hono } from "hono";
import { cors } from "hono/cors";
import { clientRateLimit } from "./client-rate-limit.ts";
import { handleError, notFound } from "../shared/errors.ts";
import type { EdgeEnv } from "./app-env.ts";
import { adminRoutes } from "./admin-routes.ts";
import { eventsRoute } from "./events-route.ts";
import { feedRoute } from "./feed-route.ts";
import { openApiDocument } from "./openapi.ts";
import { publicRoutes } from "./public-routes.ts";
import { statusRoute } from "./status-route.ts";
import { videoRoute } from "./video-route.ts";
import { videoPatchRoute, videoUploadRoute } from "./video-write-route.ts";
import { bodyLimitMiddleware } from "../shared/body-limit.ts";
import { singleQueryParams } from "../shared/query-params.ts";
import { setCacheHost } from "./edge-cache.ts";
import { methodAwareNotFound } from "../shared/method-not-allowed.ts";
import { requestIdOf } from "./request-id.ts";
import { EVENTS_MAX_BODY_BYTES } from "./events-message.ts";
import { API_EXPOSE_HEADERS, finalHeaders } from "./response-headers.ts";

// Public edge worker: the HTTP contract of DESIGN §2.
export type { EdgeEnv } from "./app-env.ts";
export const app = new Hono<EdgeEnv>();

// The error answer gets its request id (and security, CORS headers) from finalHeaders, like any other.
app.onError((err, c) => handleError(err, c));
// Paths no route answers: 404; a known path with a wrong method is 405 with `Allow`. The pages (web client,
// ops page) are another worker's (edge/web-worker.ts): no static-assets router in front of the API.
app.notFound(methodAwareNotFound(app, notFound));

app.use("*", async (c, next) => {
  c.set("requestId", requestIdOf(c.req.header("x-request-id")));
  c.set("t0", performance.now());
  setCacheHost(c.env.EDGE_HOSTNAME || (c.req.header("host") ?? new URL(c.req.url).host));
  await next();
});
// The request id, security headers (hono/secure-headers) and, on the API, CORS on every response; the hot
// read routes build their Response with them in one step (edge/response-headers.ts). CORS lets other
// origins' clients call the API with a bearer token (no cookies are used, so credentials stay off);
// preflights are answered by hono/cors.
app.use("*", finalHeaders("api"));
// The methods the API has (a preflight for another is refused by the browser before it is sent).
const preflight = cors({ origin: "*", allowMethods: ["GET", "HEAD", "POST", "PATCH"], allowHeaders: ["authorization", "content-type", "x-request-id"], exposeHeaders: API_EXPOSE_HEADERS, maxAge: 600 });
app.use("/v1/*", async (c, next) => (c.req.method === "OPTIONS" ? preflight(c, next) : next()));
app.use("/v1/*", clientRateLimit);
// No public body is larger than an events batch; routes with smaller bodies cap lower themselves.
app.use("*", bodyLimitMiddleware(EVENTS_MAX_BODY_BYTES));
// Each query parameter at most once on the API (`count=5&count=abc` is a 400 naming `count`).
app.use("/v1/*", singleQueryParams());
app.use("/emergency", singleQueryParams());

app.get("/v1/feed", feedRoute);
app.get("/v1/videos/:video_id", videoRoute);
app.post("/v1/videos", videoUploadRoute);
app.patch("/v1/videos/:video_id", videoPatchRoute);
app.post("/v1/events", eventsRoute);
app.get("/v1/status", statusRoute);
app.get("/openapi.json", (c) => c.json(openApiDocument()));
app.get("/healthz", (c) => c.json({ status: "ok" }));
adminRoutes(app);
publicRoutes(app);
