import type { Redis } from "@upstash/redis/cloudflare";

// Real-time view/like counters (app cache, tier 3): INCR in Redis as events are written, and a flush
// that moves the accumulated deltas into Postgres in one batch UPDATE. Deltas are taken with GETDEL so
// a delta is counted once even when two flushes race.
export const counterKey = (videoId: string, kind: "views" | "likes") => `ctr:${kind}:${videoId}`;
export const DIRTY_SET = "ctr:dirty";

export async function bumpCounters(redis: Redis, rows: { video_id: string | null; type: string }[]): Promise<void> {
  const p = redis.pipeline();
  let n = 0;
  for (const r of rows) {
    if (!r.video_id) continue;
    const kind = r.type === "view" ? "views" : r.type === "like" ? "likes" : null;
    if (!kind) continue;
    p.incr(counterKey(String(r.video_id), kind));
    p.sadd(DIRTY_SET, String(r.video_id));
    n++;
  }
  if (n) await p.exec();
}

export interface CounterDelta {
  videoId: string;
  views: number;
  likes: number;
}

/** Take (and reset) up to `max` dirty videos' deltas. */
export async function takeDeltas(redis: Redis, max = 500): Promise<CounterDelta[]> {
  const ids = (await redis.spop<string[]>(DIRTY_SET, max)) ?? [];
  if (!ids.length) return [];
  const p = redis.pipeline();
  for (const id of ids) {
    p.getdel(counterKey(id, "views"));
    p.getdel(counterKey(id, "likes"));
  }
  const r = (await p.exec()) as (string | number | null)[];
  return ids.map((id, i) => ({ videoId: String(id), views: Number(r[2 * i] ?? 0), likes: Number(r[2 * i + 1] ?? 0) }));
}
