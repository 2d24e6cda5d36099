import type { FeedItem, Reason } from "../shared/contract.ts";
import { formatUserId, formatVideoId } from "../shared/ids.ts";
import { CTX_DIM, contextFeatures } from "../shared/rank-contract.ts";
import type { OriginConfig } from "./env.ts";
import type { VideoFeatures } from "./feature-store.ts";

// Feed item rendering and the model's context features for one candidate.
const DAY_MS = 86_400_000;

export function writeContext(v: VideoFeatures, followed: boolean, now: number, out: Float32Array, row: number): void {
  out.set(contextFeatures(v.views, v.likes, followed, Math.max(0, now - v.createdMs) / DAY_MS), row * CTX_DIM);
}

export function toItem(cfg: Pick<OriginConfig, "MEDIA_BASE_URL">, v: VideoFeatures, score: number, reason: Reason): FeedItem {
  const vid = formatVideoId(v.id);
  return {
    video_id: vid, author_id: formatUserId(v.author), caption: v.caption, duration_ms: v.durationMs,
    video_url: `${cfg.MEDIA_BASE_URL}/${v.region}/${vid}.mp4`, thumbnail_url: `${cfg.MEDIA_BASE_URL}/${v.region}/${vid}.jpg`,
    // Merged CRDT counts (seed baseline + Σ per-region counters, shared/db/replication-schema.ts); likes
    // is a PN pair and can dip below zero transiently (an unlike counted before its like): shown as 0.
    stats: { views: Math.max(0, v.views), likes: Math.max(0, v.likes) }, score: Math.round(score * 1e4) / 1e4, reason,
  };
}
