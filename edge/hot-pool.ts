import type { KVNamespace } from "@cloudflare/workers-types";
import { IsolateCache, stringBytes } from "./isolate-cache.ts";
import { KV } from "./kv-keys.ts";

// The pushed hot-video pool (the seed's "push trending videos to all edges"; issue 13): the pre-warm cron
// writes the metadata of each region's hottest videos into KV — replicated to every PoP — sharded by a
// hash of the video id, so a first read of a popular video at any edge is answered without its origin.
// "Hottest" is two lists per region: its trending videos (last 24 h) and its most-viewed uploads of all
// time (the catalogue's head, read through shares, profiles and deep links whether trending or not).
// An isolate reads a shard once and keeps it in memory for HOT_POOL.memoMs.

export const HOT_POOL = {
  /** Trending videos per region pushed (origin /internal/v1/hot-videos `count`, regional trending order). */
  perRegion: 4000,
  /**
   * Most-viewed uploads per region pushed besides them (`head`). Three regions' heads at ~350 bytes a body
   * are ~11 MiB of KV over the shards (~0.7 MiB each, far under KV's 25 MiB value limit), read by an
   * isolate one shard at a time.
   */
  headPerRegion: 10_000,
  /** KV values the pool is spread over (each well under KV's 25 MiB value limit). */
  shards: 16,
  /** How long an isolate keeps a shard it read (ms). */
  memoMs: 60_000,
  /**
   * A pooled copy is served as fresh (HIT) while younger than this (s): the cron pushes every minute, so
   * two periods; older copies are STALE and refreshed from the origin behind the response.
   */
  freshS: 120,
} as const;

/** One KV shard: when the pool was generated and each video's body (the JSON GET /v1/videos/:id serves). */
export interface PoolShard {
  generated_at: number;
  videos: Record<string, string>;
}

/** Shard of a video id ("v123"): FNV-1a over its characters, mod HOT_POOL.shards. */
export function shardOf(vid: string, shards: number = HOT_POOL.shards): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < vid.length; i++) h = Math.imul(h ^ vid.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/** Split bodies by shard: the KV values `writeHotPool` stores. */
export function poolShards(bodies: Map<string, string>, generatedAt: number, shards: number = HOT_POOL.shards): PoolShard[] {
  const out = Array.from({ length: shards }, () => ({ generated_at: generatedAt, videos: {} as Record<string, string> }));
  for (const [vid, body] of bodies) out[shardOf(vid, shards)].videos[vid] = body;
  return out;
}

/** Write every shard of the pool (video id → body); a shard left empty is written empty (the pool moved on). */
export async function writeHotPool(kv: KVNamespace, bodies: Map<string, string>, generatedAt = Date.now(), expirationTtl = 7 * 86_400): Promise<void> {
  await Promise.all(poolShards(bodies, generatedAt).map((s, i) => kv.put(KV.hotPool(i), JSON.stringify(s), { expirationTtl })));
}

const memo = new IsolateCache<PoolShard>({ maxEntries: HOT_POOL.shards, maxBytes: 64 * 1024 * 1024, maxEntryBytes: 16 * 1024 * 1024 });
const loading = new Map<number, Promise<PoolShard | null>>();
/** Forget the shards this isolate read (tests; a new push is otherwise picked up within memoMs). */
export const clearPoolMemo = () => memo.clear();

async function shard(kv: KVNamespace, i: number, now: number): Promise<PoolShard | null> {
  const m = memo.get(String(i), now);
  if (m) return m;
  let p = loading.get(i);
  if (!p) {
    // One KV read per shard per isolate at a time, however many readers arrive together.
    p = kv.get(KV.hotPool(i), "text").then((raw) => {
      const s: PoolShard = raw ? (JSON.parse(raw) as PoolShard) : { generated_at: 0, videos: {} };
      memo.set(String(i), s, stringBytes(raw ?? ""), now + HOT_POOL.memoMs, now);
      return s;
    }).finally(() => loading.delete(i));
    loading.set(i, p);
  }
  return p;
}

/** The pooled body of `vid` and when the pool was generated (ms); null when the pool does not hold it. */
export async function pooledVideo(kv: KVNamespace, vid: string, now = Date.now()): Promise<{ body: string; generatedAt: number } | null> {
  const s = await shard(kv, shardOf(vid), now).catch(() => null);
  const body = s?.videos[vid];
  return body ? { body, generatedAt: s!.generated_at } : null;
}
