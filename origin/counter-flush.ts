import type { Redis } from "@upstash/redis/cloudflare";
import type { Db } from "./db.ts";
import { type CounterDelta, counterKey, DIRTY_SET, takeDeltas } from "./live-counters.ts";

// Moves accumulated view/like deltas from Redis into Postgres in one UPDATE … FROM unnest(…) per batch.
// Runs from the origin's Cron trigger (and on demand via /internal/v1/counters/flush). If the UPDATE
// fails, the deltas are put back into Redis so no count is lost.
export async function flushCounters(db: Db, redis: Redis, maxVideos = 2000): Promise<{ videos: number; views: number; likes: number }> {
  const deltas = await takeDeltas(redis, maxVideos);
  if (!deltas.length) return { videos: 0, views: 0, likes: 0 };
  try {
    await db.query(
      `UPDATE videos v SET views = v.views + d.views, likes = v.likes + d.likes
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS d(video_id, views, likes)
        WHERE v.video_id = d.video_id`,
      [deltas.map((d) => d.videoId), deltas.map((d) => d.views), deltas.map((d) => d.likes)],
      5000,
    );
  } catch (e) {
    await restore(redis, deltas);
    throw e;
  }
  return {
    videos: deltas.length,
    views: deltas.reduce((s, d) => s + d.views, 0),
    likes: deltas.reduce((s, d) => s + d.likes, 0),
  };
}

async function restore(redis: Redis, deltas: CounterDelta[]): Promise<void> {
  const p = redis.pipeline();
  for (const d of deltas) {
    if (d.views) p.incrby(counterKey(d.videoId, "views"), d.views);
    if (d.likes) p.incrby(counterKey(d.videoId, "likes"), d.likes);
    p.sadd(DIRTY_SET, d.videoId);
  }
  await p.exec();
}
