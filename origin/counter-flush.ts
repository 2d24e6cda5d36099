import type { Redis } from "@upstash/redis/cloudflare";
import type { Region } from "../shared/regions.ts";
import type { Db } from "./db.ts";
import { type CounterDelta, restoreDeltas, takeDeltas } from "./live-counters.ts";
import { sharedRowKey } from "./live-stats.ts";

// Moves accumulated view/like deltas from Redis into THIS region's row of the per-video CRDT counters
// (video_counters, one row per (video, region), shared/db/replication-schema.ts) in one upsert per batch.
// Only this region's row is ever written here; the other regions' rows arrive by replication. A trigger
// folds each change into videos.views / videos.likes, so reads see seed baseline + Σ over regions.
// Runs from the origin's Cron trigger (and on demand via /internal/v1/counters/flush). If the upsert
// fails, the deltas are put back into Redis so no count is lost.
export async function flushCounters(db: Db, redis: Redis, region: Region, maxVideos = 2000): Promise<{ videos: number; views: number; likes: number; unlikes: number }> {
  const deltas = await takeDeltas(redis, maxVideos);
  if (!deltas.length) return { videos: 0, views: 0, likes: 0, unlikes: 0 };
  try {
    await addToRegionCounters(db, region, deltas);
  } catch (e) {
    await restoreDeltas(redis, deltas);
    throw e;
  }
  // The feed's shared rows of these videos (origin/live-stats.ts) predate the deltas just moved into the row:
  // drop them, so a page reads the new row rather than an old row without its deltas. Best effort (they
  // expire within SHARED_ROW_S anyway).
  await redis.del(...deltas.map((d) => sharedRowKey(d.videoId))).catch(() => {});
  const sum = (k: "views" | "likes" | "unlikes") => deltas.reduce((s, d) => s + d[k], 0);
  return { videos: deltas.length, views: sum("views"), likes: sum("likes"), unlikes: sum("unlikes") };
}

/** Grow this region's counters by the deltas (each component only grows: a G-counter / PN pair). */
export async function addToRegionCounters(db: Db, region: Region, deltas: CounterDelta[], timeoutMs = 5000): Promise<void> {
  await db.query(
    `INSERT INTO video_counters AS c (video_id, region, views, likes_added, likes_removed, updated_at)
     SELECT d.video_id, $1, d.views, d.likes, d.unlikes, now()
       FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(video_id, views, likes, unlikes)
     ON CONFLICT (video_id, region) DO UPDATE SET views = c.views + excluded.views, likes_added = c.likes_added + excluded.likes_added,
            likes_removed = c.likes_removed + excluded.likes_removed, updated_at = now()`,
    [region, deltas.map((d) => d.videoId), deltas.map((d) => d.views), deltas.map((d) => d.likes), deltas.map((d) => d.unlikes)],
    timeoutMs,
  );
}
