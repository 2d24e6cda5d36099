import type { Context, Hono } from "hono";
import { setMetric, timing } from "hono/timing";
import { FeedQuerySchema, FeedResponseSchema } from "../../shared/contract.ts";
import type { LevelPolicy } from "../../shared/degradation.ts";
import { RETRY } from "../../shared/config.ts";
import { ApiError, fromZodError } from "../../shared/errors.ts";
import { FORCED_LEVEL_HEADER, parseForcedLevelHeader } from "../../shared/forced-level-header.ts";
import { parseUserId } from "../../shared/ids.ts";
import { timeoutPolicy } from "../../shared/resilience-policy.ts";
import { TryTimeoutError } from "../../shared/retry.ts";
import { Bulkhead } from "../bulkhead.ts";
import type { AppEnv, RequestDeps } from "../context.ts";
import { decodeCursor } from "../cursor.ts";
import type { LevelReport } from "../signals.ts";
import { type FeedContext, requestPolicy } from "./context.ts";
import { buildFeed, FEED_AHEAD_MAX, type FeedRequest } from "./pipeline.ts";
import { type ReadAhead, readAhead } from "./read-ahead.ts";
import { featureStoreMode, feedStores } from "./stores.ts";

// GET /internal/v1/feed (called by the edge): the composition root of one feed request. It validates the
// query (4xx before any budget is spent), decides the level policy once from the live signals, builds the
// request's context (origin/feed/context.ts: stores, one FeatureStore in the policy's mode, timings) and
// runs the pipeline (origin/feed/pipeline.ts) inside the bulkhead and under a deadline; a shed request, or one
// past its deadline, is answered cache-only.
// Query: count 1–50, cursor (opaque), user_id (u123; absent = anonymous), ahead 0–9 (pages of the chain
// sent after this one for the edge's chain cache, edge/chain-cache.ts; 400 field ahead). Header x-fyp-forced-level:
// the admin-forced level the edge keeps (shared/forced-level-header.ts).

/** Concurrent feed computations per isolate before requests are answered cache-only (origin/bulkhead.ts). */
export const feedBulkhead = new Bulkhead(12);

/** Budget (ms) of a cache-only answer: the rescue of a request past its deadline, or a shed one. */
export const FEED_RESCUE_MS = 250;
/**
 * The feed pipeline's deadline (ms), 1,750: the edge waits 2 s per try for an origin (the seed's CDN
 * origin row, shared/config.ts), so a pipeline still running then is answered cache-only within
 * FEED_RESCUE_MS and the answer still reaches the edge inside that try. Every dependency call has its own
 * timeout and retry row; this bounds their sum and whatever slips through them (a call that never settles),
 * and it frees the request's bulkhead slot, so hung work cannot shed every later request. The late work's
 * result is dropped.
 */
export const FEED_DEADLINE_MS = RETRY.cdnOrigin.perTryTimeoutMs - FEED_RESCUE_MS;

const pipelineDeadline = timeoutPolicy(FEED_DEADLINE_MS);
const rescueDeadline = timeoutPolicy(FEED_RESCUE_MS);

/** The cache-only answer within FEED_RESCUE_MS; past it a 503 `deadline_exceeded` (retry-after 1 s), which
 * the edge turns into its own fallbacks like any 503. */
async function rescue<T>(serve: (shed: boolean) => Promise<T>): Promise<T> {
  try {
    return await rescueDeadline.execute(() => serve(true));
  } catch (e) {
    if (e instanceof TryTimeoutError) throw new ApiError(503, "deadline_exceeded", `the cache-only feed did not answer within ${FEED_RESCUE_MS} ms`, undefined, { "retry-after": "1" });
    throw e;
  }
}

/** The pipeline within FEED_DEADLINE_MS; past it (or shed by the bulkhead) the cache-only answer (rescue). */
async function serveWithinDeadline<T>(d: RequestDeps, serve: (shed: boolean) => Promise<T>): Promise<T> {
  return feedBulkhead.run(async () => {
    try {
      return await pipelineDeadline.execute(() => serve(false));
    } catch (e) {
      if (!(e instanceof TryTimeoutError)) throw e;
      d.metrics.feedDeadlineExceeded();
      console.warn(`feed pipeline past its ${FEED_DEADLINE_MS} ms deadline: answering cache-only`);
      return rescue(serve);
    }
  }, () => rescue(serve));
}

let lastLevel = 0;
function noteLevel(report: LevelReport): void {
  if (report.level !== lastLevel) console.warn(`degradation level ${lastLevel} → ${report.level}: ${report.reasons.join("; ") || "all signals healthy"}`);
  lastLevel = report.level;
}

/**
 * At most once a second: a cheap `SELECT 1` (the database latency signal, and how a database we stopped
 * calling is noticed when it returns) and, while Redis looks down, a PING.
 */
function probeDependencies(d: RequestDeps): void {
  if (d.signals.db.probeDue()) d.waitUntil(d.db.probe());
  if (!d.signals.redis.view().available && d.signals.redis.probeDue()) d.waitUntil(d.signals.redis.observe(() => d.redis.ping()));
}

/** Whether a request at `policy` reads the user's features from Redis through the read-ahead's GET. */
const readsUserFromRedis = (policy: Readonly<LevelPolicy>) => {
  const mode = featureStoreMode(policy);
  return mode === "full" || mode === "batch-only";
};

/** One request's feed context over the real stores (origin/feed/stores.ts); `primed`: what the read-ahead read. */
export function feedContext(d: RequestDeps, policy: Readonly<LevelPolicy>, primed?: ReadAhead): FeedContext {
  return {
    region: d.cfg.REGION, policy, stores: feedStores(d, policy, primed), timings: d.timings,
    countAppCache: (result) => d.metrics.cache("app", result), cursorSecret: d.cfg.cursorSecret,
    now: () => Date.now(), newChainId: () => crypto.randomUUID(), warn: (msg) => console.warn(msg),
  };
}

async function parseFeedRequest(c: Context<AppEnv>, d: RequestDeps): Promise<FeedRequest> {
  const q = FeedQuerySchema.safeParse({ count: c.req.query("count"), cursor: c.req.query("cursor") });
  if (!q.success) throw fromZodError(q.error);
  const rawUser = c.req.query("user_id");
  let userId: string | null = null;
  if (rawUser) {
    const id = parseUserId(rawUser);
    if (id === null) throw new ApiError(400, "invalid_request", "must look like u123", "user_id");
    userId = id.toString();
  }
  const ahead = Number(c.req.query("ahead") ?? "0");
  if (!Number.isInteger(ahead) || ahead < 0 || ahead > FEED_AHEAD_MAX) throw new ApiError(400, "invalid_request", `must be an integer between 0 and ${FEED_AHEAD_MAX}`, "ahead");
  // A bad cursor is refused before it counts against the user's budget.
  const position = q.data.cursor ? await decodeCursor(d.cfg.cursorSecret, q.data.cursor, userId ?? "anon") : undefined;
  return { userId, count: q.data.count, position, ahead };
}

export function feedRoutes(app: Hono<AppEnv>, deps: (c: Context<AppEnv>) => RequestDeps): void {
  app.get("/internal/v1/feed", timing({ total: false }), async (c) => {
    const t0 = performance.now();
    const d = deps(c);
    d.metrics.request("feed");
    const req = await parseFeedRequest(c, d);
    const report = d.signals.level(parseForcedLevelHeader(c.req.header(FORCED_LEVEL_HEADER)));
    // Signed in: the rate limit and the request's first Redis read (a cursor page's chain, or a first page's
    // user features when its feature store reads them from Redis) in one Upstash pipeline (origin/feed/read-ahead.ts).
    const userId = req.userId;
    const policy = requestPolicy(report, false);
    const get = req.position ? (policy.useRedis ? { chain: req.position.chain } : null) : readsUserFromRedis(policy) ? { user: true as const } : null;
    const primed = userId && d.signals.redis.view().available
      ? await d.timings.time("readahead", () => readAhead(d.redis, d.signals.redis, userId, get))
      : undefined;
    probeDependencies(d);
    noteLevel(report);
    d.metrics.degradationLevel(report.level);
    const serve = (shed: boolean) => buildFeed(feedContext(d, requestPolicy(report, shed), primed), req, d.cfg);
    const feed = await serveWithinDeadline(d, serve);
    const { ahead, ...page } = feed;
    const t1 = performance.now();
    const body = FeedResponseSchema.parse(page);
    const out = ahead?.length ? { ...body, ahead: ahead.map((p) => FeedResponseSchema.parse(p)) } : body;
    d.timings.add("validate", performance.now() - t1);
    const total = performance.now() - t0;
    d.metrics.feedLatencyMs(total);
    for (const [name, ms] of Object.entries(d.timings.spans)) setMetric(c, name, ms);
    setMetric(c, "origin", total);
    return c.json(out);
  });
}
