import { EMBEDDING_DIM } from "../shared/db/schema.ts";
import type { Region } from "../shared/regions.ts";
import type { Db } from "./db.ts";

// Catalogue writes in the creator's home region (issue 14 items 1 and 3). Both are idempotent and both
// carry their own version (ts = when the edge accepted the request, region = the edge that accepted it):
//  - insertVideo: the id is pre-assigned by the edge (shared/video-id.ts), so a retried or queued upload
//    is INSERT … ON CONFLICT DO NOTHING plus a check that the row is the same upload.
//  - patchVideo: the version travels into the row; trigger videos_lww (shared/db/replication-schema.ts)
//    keeps whichever version is newer by (updated_at, updated_region), here and in every region the row
//    replicates to, so a late queued edit never overwrites a newer one.

export interface VideoRow {
  video_id: string;
  author_id: string;
  caption: string;
  duration_ms: number;
  topic: number;
  views: string;
  likes: string;
  upload_region: Region;
  status: string;
  created_at: Date | string;
  updated_at: Date | string;
  updated_region: string;
}

const VIDEO_COLUMNS = "video_id, author_id, caption, duration_ms, topic, views, likes, upload_region, status, created_at, updated_at, updated_region";

export interface NewVideo {
  videoId: bigint;
  authorId: bigint;
  caption: string;
  durationMs: number;
  /** IVF list / latent topic; null = the list nearest to the creator's own embedding. */
  topic: number | null;
  /** When the edge accepted the upload (ISO-8601): created_at and the first LWW version. */
  ts: string;
  /** Region of the edge that accepted it (LWW tie-break). */
  acceptedIn: Region;
}

export type InsertResult =
  | { kind: "created" | "exists"; row: VideoRow }
  | { kind: "id_taken" }
  | { kind: "no_author" }
  | { kind: "no_topic" };

/**
 * Write a new video in this (the creator's home) region. Errors: DB errors propagate (the caller answers
 * 503 and the edge queues). `no_author`: the creator does not live in this region's database.
 */
export async function insertVideo(db: Db, home: Region, v: NewVideo, timeoutMs = 5000): Promise<InsertResult> {
  const author = await db.query<{ embedding: number[] }>("SELECT embedding FROM users WHERE user_id = $1 AND home_region = $2", [v.authorId.toString(), home], timeoutMs);
  if (!author.length) return { kind: "no_author" };
  const centroids = await db.query<{ list: number; centroid: number[] }>("SELECT list, centroid FROM ivf_centroids ORDER BY list", [], timeoutMs);
  const topic = v.topic ?? nearestTopic(author[0].embedding, centroids);
  const centroid = centroids.find((c) => c.list === topic)?.centroid;
  if (!centroid || centroid.length !== EMBEDDING_DIM) return { kind: "no_topic" };
  // The video's embedding starts at its topic's centroid (content embedding comes with media processing).
  const inserted = await db.query<VideoRow>(
    `INSERT INTO videos (video_id, author_id, caption, duration_ms, topic, embedding, upload_region, created_at, updated_at, updated_region, views, likes)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $8, $9,
            coalesce(sum(c.views), 0), coalesce(sum(c.likes_added - c.likes_removed), 0)
       FROM video_counters c WHERE c.video_id = $1
     ON CONFLICT (video_id) DO NOTHING
     RETURNING ${VIDEO_COLUMNS}`,
    [v.videoId.toString(), v.authorId.toString(), v.caption, v.durationMs, topic, centroid, home, v.ts, v.acceptedIn],
    timeoutMs,
  );
  if (inserted.length) {
    await db.query(
      `INSERT INTO creator_profiles (user_id, handle, home_region) SELECT user_id, handle, home_region FROM users WHERE user_id = $1 ON CONFLICT DO NOTHING`,
      [v.authorId.toString()], timeoutMs,
    );
    return { kind: "created", row: inserted[0] };
  }
  const existing = await readVideo(db, v.videoId, timeoutMs);
  // Same id, same creator, same upload time: a redelivery of this upload.
  if (existing && existing.author_id.toString() === v.authorId.toString() && new Date(existing.created_at).getTime() === new Date(v.ts).getTime())
    return { kind: "exists", row: existing };
  return { kind: "id_taken" };
}

export function nearestTopic(emb: number[], centroids: { list: number; centroid: number[] }[]): number {
  let best = centroids[0]?.list ?? 0, bestDot = -Infinity;
  for (const c of centroids) {
    let dot = 0;
    for (let i = 0; i < Math.min(emb.length, c.centroid.length); i++) dot += emb[i] * c.centroid[i];
    if (dot > bestDot) [best, bestDot] = [c.list, dot];
  }
  return best;
}

export async function readVideo(db: Db, id: bigint, timeoutMs = 2000): Promise<VideoRow | null> {
  const rows = await db.query<VideoRow>(`SELECT ${VIDEO_COLUMNS} FROM videos WHERE video_id = $1`, [id.toString()], timeoutMs);
  return rows[0] ?? null;
}

export interface VideoPatch {
  caption?: string;
  topic?: number;
}

export type PatchResult =
  | { kind: "applied" | "superseded"; row: VideoRow }
  | { kind: "not_found" }
  | { kind: "forbidden"; row: VideoRow }
  | { kind: "wrong_region"; row: VideoRow }
  | { kind: "no_topic" };

/**
 * Apply a creator's edit with its version (ts, acceptedIn). `superseded`: a newer version was already in
 * place, the row is returned as it stands (last writer wins). Only the creator, only in the video's home
 * region (`wrong_region` otherwise: other regions never accept a write for it).
 */
export async function patchVideo(
  db: Db, home: Region, videoId: bigint, userId: bigint, patch: VideoPatch, ts: string, acceptedIn: Region, timeoutMs = 5000,
): Promise<PatchResult> {
  const row = await readVideo(db, videoId, timeoutMs);
  if (!row || row.status !== "active") return { kind: "not_found" };
  if (row.author_id.toString() !== userId.toString()) return { kind: "forbidden", row };
  if (row.upload_region !== home) return { kind: "wrong_region", row };
  let centroid: number[] | null = null;
  if (patch.topic !== undefined) {
    const c = await db.query<{ centroid: number[] }>("SELECT centroid FROM ivf_centroids WHERE list = $1", [patch.topic], timeoutMs);
    if (!c.length) return { kind: "no_topic" };
    centroid = c[0].centroid;
  }
  const rows = await db.query<VideoRow>(
    `UPDATE videos SET caption = coalesce($2, caption), topic = coalesce($3, topic), embedding = coalesce($4, embedding),
            updated_at = $5, updated_region = $6
      WHERE video_id = $1 RETURNING ${VIDEO_COLUMNS}`,
    [videoId.toString(), patch.caption ?? null, patch.topic ?? null, centroid, ts, acceptedIn],
    timeoutMs,
  );
  const after = rows[0];
  if (!after) return { kind: "not_found" };
  const won = new Date(after.updated_at).getTime() === new Date(ts).getTime() && after.updated_region === acceptedIn;
  return { kind: won ? "applied" : "superseded", row: after };
}
