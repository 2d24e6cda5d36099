import type { Redis } from "@upstash/redis/cloudflare";
import { EMBEDDING_DIM } from "../shared/db/schema.ts";
import { base64ToF32, f32ToBase64 } from "../shared/f32-base64.ts";
import type { Region } from "../shared/regions.ts";
import { TTL } from "../shared/config.ts";
import type { Db } from "./db.ts";
import type { DependencyHealth } from "./dependency-health.ts";
import { IsolateCache } from "./isolate-cache.ts";
import type { Metrics } from "./metrics.ts";
import type { FeatureMode } from "../shared/degradation.ts";
import { defaultUserEmbedding } from "./cold-start-embedding.ts";
import { NOOP_POLICY, retryPolicy, wrap } from "../shared/resilience-policy.ts";
import { readRetrying } from "./db-retry.ts";
import { isolateRetry } from "./retry-policy.ts";

// Tier-4 feature store: user and video features in Redis with TTLs, batch-read with one MGET, misses
// loaded from Postgres in one query and written back in one pipeline. Redis failures are reported to the
// caller (they drive degradation level 2) but never fail a read: Postgres is the source of truth.
// Retries (DESIGN.md §3, rows in origin/retry-policy.ts): each Redis feature read runs under the feature
// store row (2 retries, 10/50 ms ±10%, 5 ms per try) and counts as one operation of the Redis health
// (its total time, tries and backoff included); each Postgres read under the DB read row (3 retries,
// 10/50/200 ms ±20%, 100 ms per try; origin/db-retry.ts). Write-backs and invalidations are best effort
// and not retried.

export interface VideoFeatures {
  id: string; // numeric string
  author: string;
  emb: Float32Array;
  views: number;
  likes: number;
  createdMs: number;
  durationMs: number;
  caption: string;
  region: Region;
}
export interface UserFeatures {
  id: string;
  emb: Float32Array;
  homeRegion: Region;
  followees: string[]; // capped
  recent: string[]; // recently interacted video ids, newest first
}

export interface FeatureReadResult<T> {
  values: Map<string, T>;
  redisOk: boolean;
}

const vKey = (id: string) => `fs:v:${id}`;
const uKey = (id: string) => `fs:u:${id}`;
/** Redis key of a user's cached features (read ahead with the rate limit: origin/feed/read-ahead.ts). */
export const userFeatureKey = uKey;
const MAX_FOLLOWEES = 1000;
/** Per-isolate memo of decoded video features (30 s: counts may lag that much). */
const videoMemo = new IsolateCache<VideoFeatures>(60_000, 30_000);
export const videoMemoStats = () => ({ hits: videoMemo.hits, misses: videoMemo.misses });

/**
 * Drop cached features of videos whose row changed underneath the cache (an edit, merged counters,
 * replication): this isolate's memo and the Redis copies. Best effort: Redis errors are swallowed (the
 * TTL still bounds staleness).
 */
export async function forgetVideos(redis: Redis, ids: string[]): Promise<void> {
  if (!ids.length) return;
  for (const id of ids) videoMemo.delete(id);
  await redis.del(...ids.map(vKey)).catch(() => 0);
}
const MAX_RECENT = 200;

type VideoRow = { video_id: string; author_id: string; embedding: number[]; views: string; likes: string; created_at: Date | string; duration_ms: number; caption: string; upload_region: Region };

function encodeVideo(v: VideoFeatures): string {
  return JSON.stringify({ a: v.author, e: f32ToBase64(v.emb), w: v.views, l: v.likes, c: v.createdMs, d: v.durationMs, t: v.caption, r: v.region });
}
function decodeVideo(id: string, s: string): VideoFeatures {
  const o = JSON.parse(s);
  return { id, author: o.a, emb: base64ToF32(o.e), views: o.w, likes: o.l, createdMs: o.c, durationMs: o.d, caption: o.t, region: o.r };
}
function videoFromRow(r: VideoRow): VideoFeatures {
  return {
    id: String(r.video_id), author: String(r.author_id), emb: Float32Array.from(r.embedding),
    views: Number(r.views), likes: Number(r.likes), createdMs: new Date(r.created_at).getTime(),
    durationMs: r.duration_ms, caption: r.caption, region: r.upload_region,
  };
}

/**
 * How the store reads, chosen once per request from the level policy (shared/degradation.ts):
 *  - "full": Redis, then Postgres for the misses (written back); user features with real-time recent activity;
 *  - "batch-only" (level 1): as full, but users without the recent-activity lookup (nothing written back for them);
 *  - "cold-start" (level 2): Redis skipped, Postgres only, nothing written back; users get the region's
 *    default embedding (origin/cold-start-embedding.ts) with their follows and history;
 *  - "cache-only" (level 3): Redis only, Postgres never touched.
 */
export type FeatureStoreMode = FeatureMode | "cache-only";

export class FeatureStore {
  private readonly redis: Redis;
  private readonly db: Db;
  private readonly metrics: Metrics;
  private readonly health?: DependencyHealth;
  readonly mode: FeatureStoreMode;
  /** Cold-start mode reads Postgres directly and writes nothing back. */
  private readonly skipRedis: boolean;
  /** The user-features GET already answered by the request's read-ahead pipeline (origin/feed/read-ahead.ts). */
  private readonly primedUser?: { id: string; value: string | null };
  constructor(redis: Redis, db: Db, metrics: Metrics, health?: DependencyHealth, mode: FeatureStoreMode = "full", primedUser?: { id: string; value: string | null }) {
    this.redis = redis;
    this.db = db;
    this.metrics = metrics;
    this.health = health;
    this.mode = mode;
    this.skipRedis = mode === "cold-start";
    this.primedUser = primedUser;
  }

  /** Redis-only read (level 3: the database is not to be touched). */
  async cachedVideos(ids: string[]): Promise<Map<string, VideoFeatures>> {
    const values = new Map<string, VideoFeatures>();
    if (!ids.length) return values;
    const cached = await this.redisRead(() => this.redis.mget<(string | null)[]>(...ids.map(vKey)));
    ids.forEach((id, i) => {
      const s = cached[i];
      if (s) values.set(id, decodeVideo(id, s));
    });
    this.metrics.cache("feature", "hit", values.size);
    this.metrics.cache("feature", "miss", ids.length - values.size);
    return values;
  }

  /** One Redis feature read under the feature-store row, observed as one operation; rejects when every try failed. */
  private redisRead<T>(f: () => Promise<T>): Promise<T> {
    return wrap(this.health ?? NOOP_POLICY, retryPolicy(isolateRetry().featureStore)).execute(() => f());
  }

  /** Postgres for reads, under the DB read row (origin/db-retry.ts). */
  private get pg(): Db {
    return readRetrying(this.db);
  }

  async videos(allIds: string[]): Promise<FeatureReadResult<VideoFeatures>> {
    if (this.mode === "cache-only") return { values: await this.cachedVideos(allIds), redisOk: true };
    const values = new Map<string, VideoFeatures>();
    const ids: string[] = [];
    for (const id of allIds) {
      const v = videoMemo.get(id);
      if (v) values.set(id, v);
      else ids.push(id);
    }
    // The isolate memo is its own tier: only what it did not hold is looked up (and counted) in Redis.
    this.metrics.cache("feature_memo", "hit", values.size);
    this.metrics.cache("feature_memo", "miss", ids.length);
    let redisOk = true;
    let cached: (string | null)[] = [];
    if (this.skipRedis) redisOk = false;
    else if (ids.length > 0) {
      try {
        cached = await this.redisRead(() => this.redis.mget<(string | null)[]>(...ids.map(vKey)));
      } catch {
        redisOk = false;
        cached = [];
      }
    }
    const missing: string[] = [];
    ids.forEach((id, i) => {
      const s = cached[i];
      if (s) {
        const v = decodeVideo(id, s);
        values.set(id, v);
        videoMemo.set(id, v);
      } else missing.push(id);
    });
    if (redisOk) {
      this.metrics.cache("feature", "hit", ids.length - missing.length);
      this.metrics.cache("feature", "miss", missing.length);
    }
    if (missing.length > 0) {
      const rows = await this.pg.query<VideoRow>(
        `SELECT video_id, author_id, embedding, views, likes, created_at, duration_ms, caption, upload_region
           FROM videos WHERE video_id = ANY($1::bigint[]) AND status = 'active'`,
        [missing],
      );
      const loaded = rows.map(videoFromRow);
      for (const v of loaded) {
        values.set(v.id, v);
        videoMemo.set(v.id, v);
      }
      if (redisOk && loaded.length > 0) await this.writeBack(loaded.map((v) => [vKey(v.id), encodeVideo(v)]), TTL.featureVideo);
    }
    return { values, redisOk };
  }

  /** A user's features as the store's mode reads them; null for an unknown user. */
  async user(id: string): Promise<{ user: UserFeatures | null; redisOk: boolean }> {
    if (this.mode === "cache-only") return { user: await this.cachedUser(id), redisOk: true };
    if (this.mode === "cold-start") return { user: await this.coldStartUser(id), redisOk: false };
    const batchOnly = this.mode === "batch-only";
    let redisOk = !this.skipRedis;
    if (redisOk) try {
      const s = this.primedUser?.id === id ? this.primedUser.value : await this.redisRead(() => this.redis.get<string>(uKey(id)));
      if (s) {
        this.metrics.cache("feature", "hit", 1);
        const o = JSON.parse(s);
        return { user: { id, emb: base64ToF32(o.e), homeRegion: o.h, followees: o.f, recent: batchOnly ? [] : o.r }, redisOk };
      }
      this.metrics.cache("feature", "miss", 1);
    } catch {
      redisOk = false;
    }
    const user = await this.loadUser(id, !batchOnly);
    // A batch-only read has no recent activity: cached, it would hide that activity from full reads.
    if (user && redisOk && !batchOnly) {
      const enc = JSON.stringify({ e: f32ToBase64(user.emb), h: user.homeRegion, f: user.followees, r: user.recent });
      await this.writeBack([[uKey(id), enc]], TTL.featureUser);
    }
    return { user, redisOk };
  }

  /** Redis-only user read (level 3). */
  async cachedUser(id: string): Promise<UserFeatures | null> {
    const s = await this.redisRead(() => this.redis.get<string>(uKey(id)));
    this.metrics.cache("feature", s ? "hit" : "miss", 1);
    if (!s) return null;
    const o = JSON.parse(s);
    return { id, emb: base64ToF32(o.e), homeRegion: o.h, followees: o.f, recent: o.r };
  }

  /**
   * Level 2 (feature store down): the learned user embedding lives behind the feature store, so the user
   * is ranked with the region's default cold-start embedding (origin/cold-start-embedding.ts), with their
   * follows and history from Postgres (the content-based signals of the candidate step).
   */
  private async coldStartUser(id: string): Promise<UserFeatures | null> {
    const [base, emb] = await Promise.all([this.loadUser(id), defaultUserEmbedding(this.pg)]);
    return base ? { ...base, emb } : null;
  }

  /** `withRecent` false: no recent-activity query (batch features only), `recent` is empty. */
  private async loadUser(id: string, withRecent = true): Promise<UserFeatures | null> {
    const pg = this.pg;
    const [users, follows, recent] = await Promise.all([
      pg.query<{ embedding: number[]; home_region: Region }>(`SELECT embedding, home_region FROM users WHERE user_id = $1`, [id]),
      pg.query<{ followee_id: string }>(`SELECT followee_id FROM follows WHERE follower_id = $1 LIMIT ${MAX_FOLLOWEES}`, [id]),
      withRecent
        ? pg.query<{ video_id: string }>(
          `SELECT video_id FROM interactions WHERE user_id = $1 AND video_id IS NOT NULL ORDER BY ts DESC LIMIT ${MAX_RECENT}`,
          [id],
        )
        : Promise.resolve([]),
    ]);
    if (users.length === 0) return null;
    const u = users[0];
    if (u.embedding.length !== EMBEDDING_DIM) throw new Error(`user ${id} has a ${u.embedding.length}-dim embedding`);
    return {
      id, emb: Float32Array.from(u.embedding), homeRegion: u.home_region,
      followees: follows.map((f) => String(f.followee_id)), recent: recent.map((r) => String(r.video_id)),
    };
  }

  /** Best effort: a failed write-back only costs a later miss. */
  private async writeBack(entries: [string, string][], ttl: number): Promise<void> {
    try {
      const p = this.redis.pipeline();
      for (const [k, v] of entries) p.set(k, v, { ex: ttl });
      await p.exec();
    } catch {
      /* next read misses again; Postgres still has it */
    }
  }

  /** Drop a user's cached features after a write (follow, interaction) so the next feed sees it. */
  async invalidateUser(id: string): Promise<void> {
    await this.redis.del(uKey(id)).catch(() => 0);
  }
}
