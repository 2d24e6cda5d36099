// Time buckets of the timeline store: the partition of an event is (video_id, bucket), so one video's
// timeline is split into one partition per bucket and no partition grows without bound.
//
// The rule (the seed: keep one partition ≤ ~100 MB):
//     bytes per event × events per bucket ≤ 100 MB
//     events per bucket = peak events/s of one video × bucket width (s)
//  ⇒  bucket width ≤ 100 MB / (bytes per event × peak events/s)
//
// Bytes per event: one row is (video_id, bucket, ts, event_id, type, user_id, region, watch_ms). Measured
// on Postgres 18 with `node bench/timeline-size.ts` (200,000 events; heap + primary key + the trending
// index, divided by rows): 248 B (heap alone 101 B). Cassandra stores the same columns plus per-cell
// timestamps, compressed; we use the measured figure, rounded up to 250 B, for both.
//
// With the default hourly bucket one partition holds 100 MB / 250 B = 400,000 events, i.e. a video may
// sustain ~111 events/s (400k events an hour) for a whole hour before its partition passes 100 MB; a
// daily bucket would allow only ~4.6 events/s, which a popular video passes in minutes. `bucketWidthFor`
// picks the widest standard width for a given peak rate, and the store's `bucketMs` option overrides
// the default. The width is fixed per deployment: both adapters compute the buckets of a window from
// it, so changing it needs a rewrite of the stored timelines (or waiting out the old ones).

/** Upper bound of one partition (bytes): the seed's ~100 MB. */
export const MAX_PARTITION_BYTES = 100_000_000;
/** Bytes one stored event costs, rounded up from the measurement in bench/timeline-size.ts. */
export const TIMELINE_BYTES_PER_EVENT = 250;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Default bucket width: one hour (see the header for the derivation). */
export const DEFAULT_BUCKET_MS = HOUR_MS;
/** Standard widths, widest first. */
export const STANDARD_WIDTHS_MS = [DAY_MS, HOUR_MS, 10 * 60_000, 60_000] as const;
/** The most buckets one windowed read may touch (a 7-day window of hourly buckets is 168). */
export const MAX_BUCKETS_PER_READ = 24 * 7 * 4;

/** Events one partition may hold: MAX_PARTITION_BYTES / bytes per event. */
export function maxEventsPerBucket(bytesPerEvent = TIMELINE_BYTES_PER_EVENT, maxBytes = MAX_PARTITION_BYTES): number {
  return Math.floor(maxBytes / bytesPerEvent);
}

/**
 * The widest standard width (day, hour, 10 min, 1 min) whose partition stays ≤ maxBytes at the given
 * peak rate of one video (events/s). Throws RangeError when even one minute would overflow: such a rate
 * needs sub-partitioning, not a narrower bucket.
 */
export function bucketWidthFor(peakEventsPerSecond: number, bytesPerEvent = TIMELINE_BYTES_PER_EVENT, maxBytes = MAX_PARTITION_BYTES): number {
  if (!(peakEventsPerSecond > 0)) throw new RangeError(`peak rate must be > 0 (got ${peakEventsPerSecond})`);
  const limit = maxEventsPerBucket(bytesPerEvent, maxBytes);
  for (const w of STANDARD_WIDTHS_MS) if (peakEventsPerSecond * (w / 1000) <= limit) return w;
  throw new RangeError(`${peakEventsPerSecond} events/s overflows a one-minute bucket of ${maxBytes} bytes`);
}

/** Bucket width from the environment (`TIMELINE_BUCKET_MS`, ms, ≥ 1000), else the default. */
export function bucketWidthFromEnv(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_BUCKET_MS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1000) throw new RangeError(`TIMELINE_BUCKET_MS must be an integer ≥ 1000 (got ${value})`);
  return n;
}

/** Start (epoch ms) of the bucket holding tsMs. */
export function bucketOf(tsMs: number, widthMs = DEFAULT_BUCKET_MS): number {
  return Math.floor(tsMs / widthMs) * widthMs;
}

/**
 * Bucket starts covering the half-open window [fromMs, toMs), newest first. Throws RangeError beyond
 * MAX_BUCKETS_PER_READ (a caller asking for months of one video reads it through paging, not one query).
 */
export function bucketsInWindow(fromMs: number, toMs: number, widthMs = DEFAULT_BUCKET_MS): number[] {
  if (toMs <= fromMs) return [];
  const first = bucketOf(fromMs, widthMs);
  const last = bucketOf(toMs - 1, widthMs);
  const n = (last - first) / widthMs + 1;
  if (n > MAX_BUCKETS_PER_READ) throw new RangeError(`window spans ${n} buckets (max ${MAX_BUCKETS_PER_READ})`);
  const out: number[] = [];
  for (let b = last; b >= first; b -= widthMs) out.push(b);
  return out;
}
