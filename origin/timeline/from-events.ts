// From the events path to the timeline: which of a batch's events go into the per-video timelines, and
// under which identity.
//
// The events path is exactly-once per (user, idempotency key) (origin/events-routes.ts writes
// `interactions` with ON CONFLICT DO NOTHING). The timeline append comes after that insert and is
// idempotent itself, so the whole batch is appended every time it is delivered: a redelivery finds its
// interactions already written and its timeline rows already there (no-ops), and a crash or a failed
// append between the two writes is repaired by the queue's retry. Idempotency keys are unique per user,
// not globally, so a timeline event's id is "<user_id>:<idempotency_key>".
import type { FeedEvent } from "../../shared/contract.ts";
import { parseVideoId } from "../../shared/ids.ts";
import { TIMELINE_EVENT_TYPES, type TimelineEvent, type TimelineEventType } from "./types.ts";

const TIMELINE_TYPES = new Set<string>(TIMELINE_EVENT_TYPES);

/** Timeline event id of a user's event: unique across users (keys are only unique per user). */
export const timelineEventId = (userId: bigint | string, idempotencyKey: string) => `${userId}:${idempotencyKey}`;

/**
 * The batch's video events as timeline events of `region` (follow/unfollow have no video and are
 * skipped; events are already validated by EventSchema, so ts and video ids parse).
 */
export function timelineEventsOf(userId: bigint, region: string, events: FeedEvent[]): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (const e of events) {
    if (!e.video_id || !TIMELINE_TYPES.has(e.type)) continue;
    const vid = parseVideoId(e.video_id);
    const tsMs = Date.parse(e.ts);
    if (vid === null || !Number.isSafeInteger(tsMs)) continue;
    out.push({
      videoId: vid.toString(), tsMs, eventId: timelineEventId(userId, e.idempotency_key), type: e.type as TimelineEventType,
      userId: userId.toString(), region, watchMs: e.watch_ms ?? null,
    });
  }
  return out;
}
