// The TimelineStore: per-video event timelines (the seed's Cassandra timelines), behind one interface so
// the Postgres adapter (origin/timeline/postgres.ts, what runs locally and in the origin Workers) and the
// Cassandra adapter (origin/timeline/cassandra.ts, the seed's keyspace) are interchangeable. Both store
// one row per event under the partition (video_id, bucket) — see origin/timeline/buckets.ts for why a
// bucket keeps one partition under ~100 MB — and both pass the same contract suite
// (test/integration/timeline-store.test.ts).
//
// Semantics every adapter keeps:
//  - append is idempotent: an event is identified by (video_id, ts, event_id); appending it again
//    (a redelivered queue message) leaves exactly one row. event_id is the events path's idempotency key.
//  - event time, not arrival time, orders a timeline and decides which write wins (Cassandra: USING
//    TIMESTAMP from the event's ts; Postgres: the first write of an identity wins, and a re-append of
//    the same identity carries the same ts).
//  - windows are half-open [from, to) in event time; reads are newest first.

export const TIMELINE_EVENT_TYPES = ["view", "like", "unlike", "share", "comment", "skip"] as const;
export type TimelineEventType = (typeof TIMELINE_EVENT_TYPES)[number];

export interface TimelineEvent {
  /** Decimal bigint video id as stored ("123", not "v123"). */
  videoId: string;
  /** Event time, epoch milliseconds (the client's `ts`). */
  tsMs: number;
  /** The events path's idempotency key. */
  eventId: string;
  type: TimelineEventType;
  /** Decimal bigint user id. */
  userId: string;
  /** Region whose database accepted the event (the user's home region). */
  region: string;
  watchMs: number | null;
}

/** A half-open event-time window [fromMs, toMs), epoch milliseconds. */
export interface TimeWindow {
  fromMs: number;
  toMs: number;
}

export interface EventsQuery extends TimeWindow {
  /** Page size, 1 … MAX_PAGE (1000). */
  limit: number;
  /** `next` of the previous page; absent for the first (newest) page. */
  cursor?: string | null;
}

export interface EventsPage {
  events: TimelineEvent[];
  /** Opaque; null when the window holds no older event. */
  next: string | null;
}

export type TypeCounts = Partial<Record<TimelineEventType, number>>;

export interface CountsQuery extends TimeWindow {
  /** Only events accepted by this region; all regions when absent. */
  region?: string;
}

export interface TopQuery extends TimeWindow {
  region: string;
  /** Score of a video = Σ weight[type] × count[type] over the window; types without a weight are ignored. */
  weights: TypeCounts;
  /** 1 … MAX_TOP (10,000). */
  limit: number;
}

export interface TopEntry {
  videoId: string;
  score: number;
  counts: TypeCounts;
}

export interface TimelineStore {
  /** "postgres" | "cassandra": which adapter this is (logs, README table). */
  readonly kind: string;
  /** Idempotent append of a batch (any mix of videos). Rejects on storage errors; a retry is safe. */
  append(events: TimelineEvent[]): Promise<void>;
  /** One video's events in the window, newest first, paged by an opaque cursor. */
  events(videoId: string, q: EventsQuery): Promise<EventsPage>;
  /** Per-type counts in the window for each requested video (videos without events are absent). */
  counts(videoIds: string[], q: CountsQuery): Promise<Map<string, TypeCounts>>;
  /** The `limit` highest-scoring videos of a region's events in the window, best first (ties: lower id). */
  top(q: TopQuery): Promise<TopEntry[]>;
}

/** Bad query arguments (a caller's bug or bad input): never a storage failure. */
export class TimelineQueryError extends Error {}

/** Most events of one page. */
export const MAX_PAGE = 1000;
/** Most entries of one `top` answer (the origin's trending candidate list is ≤ 2,250). */
export const MAX_TOP = 10_000;

/** Validates a window and a limit (1 … maxLimit); throws TimelineQueryError. */
export function checkWindow(q: TimeWindow & { limit?: number }, maxLimit = MAX_PAGE): void {
  if (!Number.isSafeInteger(q.fromMs) || !Number.isSafeInteger(q.toMs) || q.fromMs > q.toMs) throw new TimelineQueryError(`bad window [${q.fromMs}, ${q.toMs})`);
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > maxLimit)) throw new TimelineQueryError(`limit must be 1 … ${maxLimit} (got ${q.limit})`);
}

const ID_RE = /^[1-9][0-9]{0,17}$/;

/** A stored (decimal bigint) id; throws TimelineQueryError otherwise. */
export function checkId(id: string, what: string): void {
  if (typeof id !== "string" || !ID_RE.test(id)) throw new TimelineQueryError(`${what} must be a decimal id (got ${JSON.stringify(id)})`);
}

/** A well-formed event; throws TimelineQueryError otherwise. */
export function checkEvent(e: TimelineEvent): void {
  checkId(e.videoId, "videoId");
  checkId(e.userId, "userId");
  if (!Number.isSafeInteger(e.tsMs)) throw new TimelineQueryError(`tsMs must be epoch ms (got ${e.tsMs})`);
  if (!(TIMELINE_EVENT_TYPES as readonly string[]).includes(e.type)) throw new TimelineQueryError(`unknown event type ${e.type}`);
  if (!e.eventId) throw new TimelineQueryError("eventId is required");
}

/** Score of one video's counts under the weights (TopQuery). */
export function scoreOf(counts: TypeCounts, weights: TypeCounts): number {
  let s = 0;
  for (const [t, w] of Object.entries(weights)) s += (w ?? 0) * (counts[t as TimelineEventType] ?? 0);
  return s;
}

/** Best first; ties by ascending numeric video id so every adapter returns the same order. */
export function compareTop(a: TopEntry, b: TopEntry): number {
  if (b.score !== a.score) return b.score - a.score;
  const x = BigInt(a.videoId), y = BigInt(b.videoId);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Page cursor: the (ts, event_id) of the last event returned; the next page starts strictly below it.
export function encodeCursor(e: { tsMs: number; eventId: string }): string {
  return `${e.tsMs}.${e.eventId}`;
}

export function decodeCursor(s: string): { tsMs: number; eventId: string } {
  const dot = s.indexOf(".");
  const tsMs = Number(s.slice(0, dot));
  if (dot < 1 || !Number.isSafeInteger(tsMs)) throw new TimelineQueryError("bad cursor");
  return { tsMs, eventId: s.slice(dot + 1) };
}
