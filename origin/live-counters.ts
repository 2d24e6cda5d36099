import type { Redis } from "@upstash/redis/cloudflare";

// Real-time view/like counters (app cache, tier 3): INCR in Redis as events are written, and a flush
// (origin/counter-flush.ts) that moves the accumulated deltas into this region's CRDT counter row in
// Postgres in one batch. Deltas are taken with GETDEL so a delta is counted once even when two flushes race.
// Kinds: views (G-counter) and likes as a PN pair: `like` grows likes_added, `unlike` grows likes_removed.
export type CounterKind = "views" | "likes" | "unlikes";
export const counterKey = (videoId: string, kind: CounterKind) => `ctr:${kind}:${videoId}`;
export const DIRTY_SET = "ctr:dirty";
const KIND_OF: Record<string, CounterKind> = { view: "views", like: "likes", unlike: "unlikes" };
const KINDS: CounterKind[] = ["views", "likes", "unlikes"];

/** Count newly written events (rows the insert really added, so a redelivered event never counts twice). */
export async function bumpCounters(redis: Redis, rows: { video_id: string | null; type: string }[]): Promise<void> {
  const p = redis.pipeline();
  let n = 0;
  for (const r of rows) {
    if (!r.video_id) continue;
    const kind = KIND_OF[r.type];
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
  unlikes: number;
}

/** Take (and reset) up to `max` dirty videos' deltas. */
export async function takeDeltas(redis: Redis, max = 500): Promise<CounterDelta[]> {
  const ids = (await redis.spop<string[]>(DIRTY_SET, max)) ?? [];
  if (!ids.length) return [];
  const p = redis.pipeline();
  for (const id of ids) for (const k of KINDS) p.getdel(counterKey(id, k));
  const r = (await p.exec()) as (string | number | null)[];
  return ids.map((id, i) => ({ videoId: String(id), views: Number(r[3 * i] ?? 0), likes: Number(r[3 * i + 1] ?? 0), unlikes: Number(r[3 * i + 2] ?? 0) }));
}

/** Put deltas back (a flush whose database write failed), so no count is lost. */
export async function restoreDeltas(redis: Redis, deltas: CounterDelta[]): Promise<void> {
  const p = redis.pipeline();
  for (const d of deltas) {
    for (const k of KINDS) if (d[k]) p.incrby(counterKey(d.videoId, k), d[k]);
    p.sadd(DIRTY_SET, d.videoId);
  }
  await p.exec();
}
