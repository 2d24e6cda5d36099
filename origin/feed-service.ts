import type { Redis } from "@upstash/redis/cloudflare";
import { CANDIDATES, RETRY, TTL } from "../shared/config.ts";
import type { FeedItem, FeedResponse, Reason, Source } from "../shared/contract.ts";
import { EMBEDDING_DIM } from "../shared/db/schema.ts";
import { formatUserId, formatVideoId } from "../shared/ids.ts";
import type { Region } from "../shared/regions.ts";
import { generateCandidates, trendingIds } from "./candidates.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { Db } from "./db.ts";
import type { OriginConfig } from "./env.ts";
import { FeatureStore, type UserFeatures, type VideoFeatures } from "./feature-store.ts";
import type { Metrics } from "./metrics.ts";
import { CTX_DIM, rank } from "./ranking-client.ts";

// The origin's feed pipeline: user features → candidates → video features → ranking → a stored chain
// that cursor pages are sliced from (so one cursor chain never shows a video twice).

export interface FeedDeps {
  cfg: OriginConfig;
  db: Db;
  redis: Redis;
  metrics: Metrics;
  timings: Record<string, number>;
}
export interface FeedRequest {
  userId: string | null; // numeric string; null = anonymous
  count: number;
  cursor?: string;
}

type ChainEntry = [id: string, score: number, reason: Reason];
interface Chain {
  u: string;
  mv: string | null;
  src: Source;
  at: number;
  items: ChainEntry[];
}

const chainKey = (id: string) => `fyp:chain:${id}`;
const lastKey = (user: string) => `fyp:last:${user}`;
const DAY_MS = 86_400_000;

async function timed<T>(t: Record<string, number>, name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    t[name] = (t[name] ?? 0) + (performance.now() - t0);
  }
}

export function contextFeatures(v: VideoFeatures, followed: boolean, now: number, out: Float32Array, at: number): void {
  out[at] = Math.log1p(v.views) / 15;
  out[at + 1] = v.likes / (v.views + 1);
  out[at + 2] = followed ? 1 : 0;
  out[at + 3] = Math.exp(-Math.max(0, now - v.createdMs) / DAY_MS / 7);
}

export function toItem(cfg: OriginConfig, v: VideoFeatures, score: number, reason: Reason): FeedItem {
  const vid = formatVideoId(v.id);
  return {
    video_id: vid, author_id: formatUserId(v.author), caption: v.caption, duration_ms: v.durationMs,
    video_url: `${cfg.MEDIA_BASE_URL}/${v.region}/${vid}.mp4`, thumbnail_url: `${cfg.MEDIA_BASE_URL}/${v.region}/${vid}.jpg`,
    stats: { views: v.views, likes: v.likes }, score: Math.round(score * 1e4) / 1e4, reason,
  };
}

async function computeChain(deps: FeedDeps, user: UserFeatures | null, userKey: string): Promise<Chain> {
  const { cfg, db, redis, metrics, timings } = deps;
  const exclude = new Set(user?.recent ?? []);
  const cands = await timed(timings, "candidates", () =>
    generateCandidates(db, redis, user, { pool: CANDIDATES.normalPool, region: cfg.REGION, exclude }),
  );
  const ids = [...cands.keys()];
  const fs = new FeatureStore(redis, db, metrics);
  const { values } = await timed(timings, "features", () => fs.videos(ids));
  const present = ids.filter((id) => values.has(id));
  const followees = new Set(user?.followees ?? []);
  const embeddings = new Float32Array(present.length * EMBEDDING_DIM);
  const ctx = new Float32Array(present.length * CTX_DIM);
  const now = Date.now();
  present.forEach((id, i) => {
    const v = values.get(id)!;
    embeddings.set(v.emb, i * EMBEDDING_DIM);
    contextFeatures(v, followees.has(v.author), now, ctx, i * CTX_DIM);
  });
  const userEmb = user?.emb ?? new Float32Array(EMBEDDING_DIM); // cold start: neutral embedding
  const ranked = await timed(timings, "rank", () =>
    rank(cfg.RANKING_URL, { userId: userKey, userEmb, ids: present, embeddings, ctx, topK: CANDIDATES.chainLength }, RETRY.mlInference.perTryTimeoutMs * 25, cfg.INTERNAL_SECRET),
  );
  return {
    u: userKey, mv: ranked.modelVersion, src: "origin", at: now,
    items: ranked.items.map((r) => [r.id, r.score, cands.get(r.id) ?? "explore"]),
  };
}

async function loadChain(redis: Redis, id: string): Promise<Chain | null> {
  try {
    const s = await redis.get<string>(chainKey(id));
    return s ? (JSON.parse(s) as Chain) : null;
  } catch {
    return null;
  }
}

async function storeChain(redis: Redis, id: string, chain: Chain): Promise<void> {
  try {
    const p = redis.pipeline();
    p.set(chainKey(id), JSON.stringify(chain), { ex: TTL.appFeedFallback });
    if (chain.u !== "anon") p.set(lastKey(chain.u), id, { ex: TTL.appFeedFallback });
    await p.exec();
  } catch {
    /* without Redis the next page recomputes; the feed still answers */
  }
}

async function anonymousChain(deps: FeedDeps): Promise<Chain> {
  const ids = await timed(deps.timings, "candidates", () => trendingIds(deps.db, deps.redis, deps.cfg.REGION, CANDIDATES.chainLength));
  const n = ids.length || 1;
  return { u: "anon", mv: null, src: "trending", at: Date.now(), items: ids.map((id, i) => [id, 1 - i / n, "trending"]) };
}

export async function buildFeed(deps: FeedDeps, req: FeedRequest): Promise<FeedResponse> {
  const { cfg, redis, metrics } = deps;
  const userKey = req.userId ?? "anon";
  let chainId: string;
  let offset = 0;
  let chain: Chain | null = null;
  if (req.cursor) {
    const c = await decodeCursor(cfg.cursorSecret, req.cursor, userKey);
    chainId = c.chain;
    offset = c.offset;
    chain = await loadChain(redis, chainId);
    metrics.cache("app", chain ? "hit" : "miss");
  } else {
    chainId = req.userId ? crypto.randomUUID() : `anon-${cfg.REGION}-${Math.floor(Date.now() / (TTL.edgeAnonFeed * 1000))}`;
    if (!req.userId) chain = await loadChain(redis, chainId);
  }
  if (!chain) {
    if (req.userId) {
      const fs = new FeatureStore(redis, deps.db, metrics);
      const { user } = await timed(deps.timings, "features", () => fs.user(req.userId!));
      chain = await computeChain(deps, user, userKey);
    } else {
      chain = await anonymousChain(deps);
    }
    await storeChain(redis, chainId, chain);
  }
  const slice = chain.items.slice(offset, offset + req.count);
  const fs = new FeatureStore(redis, deps.db, metrics);
  const { values } = await timed(deps.timings, "features", () => fs.videos(slice.map((e) => e[0])));
  const items = slice.filter((e) => values.has(e[0])).map((e) => toItem(cfg, values.get(e[0])!, e[1], e[2]));
  const nextOffset = offset + slice.length;
  const next_cursor = nextOffset < chain.items.length ? await encodeCursor(cfg.cursorSecret, { chain: chainId, offset: nextOffset, user: userKey }) : null;
  return {
    items, next_cursor, source: chain.src, region: cfg.REGION as Region, degradation_level: 0, limited: false,
    model_version: chain.mv, generated_at: new Date(chain.at).toISOString(),
  };
}
