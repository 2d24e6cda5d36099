// TimelineStore on Apache Cassandra (the seed's timeline store), through the DataStax `cassandra-driver`.
// Node only (the driver speaks the native protocol over node:net): the origin Workers use the Postgres
// adapter; this one serves a Node writer/reader next to a Cassandra cluster and the contract suite.
//
// Keyspace (cassandraSchema): NetworkTopologyStrategy with 3 replicas in each region's data centre
// (us, eu, apac), so every region holds a full copy and survives the loss of one replica locally.
//  - video_events: PRIMARY KEY ((video_id, bucket), ts, event_id), CLUSTERING ORDER BY (ts DESC,
//    event_id DESC): one partition per video per bucket (origin/timeline/buckets.ts bounds it at
//    ~100 MB), newest first; TimeWindowCompactionStrategy since rows arrive in time order.
//  - region_active_videos: PRIMARY KEY ((region, bucket), video_id): which videos a region's users touched
//    in a bucket (one row per video, so a partition is ~30 B × active videos), the entry point of `top`.
// Every statement is prepared and runs at LOCAL_QUORUM (2 of the 3 local replicas): a read after a
// write in the same region sees it, and no cross-DC round trip sits on the request path. Writes carry
// `USING TIMESTAMP` = the event's own time (µs), so replicas resolve conflicting writes of one cell by
// event time, not arrival order; re-appending an event rewrites the same row (idempotent).
// Failures reject with the driver's errors (NoHostAvailableError, OperationTimedOutError, …).
import cassandra from "cassandra-driver";
import { bucketOf, bucketsInWindow, bucketWidthFromEnv, DEFAULT_BUCKET_MS } from "./buckets.ts";
import {
  checkEvent, checkId, checkWindow, compareTop, MAX_TOP, decodeCursor, encodeCursor, scoreOf, TimelineQueryError,
  type CountsQuery, type EventsPage, type EventsQuery, type TimelineEvent, type TimelineEventType, type TimelineStore,
  type TopEntry, type TopQuery, type TypeCounts,
} from "./types.ts";

const LOCAL_QUORUM = cassandra.types.consistencies.localQuorum;

export interface CassandraTimelineOptions {
  /** "host[:port]" list (CASSANDRA_CONTACT_POINTS, comma-separated). */
  contactPoints: string[];
  /** Data centre of this process (CASSANDRA_LOCAL_DC); LOCAL_QUORUM is counted there. */
  localDataCenter: string;
  /** Default "fyp_timelines" (CASSANDRA_KEYSPACE). */
  keyspace?: string;
  /** Replicas per data centre for CREATE KEYSPACE. Default: the seed's { us: 3, eu: 3, apac: 3 }. */
  replication?: Record<string, number>;
  bucketMs?: number;
  /** Per-request timeouts (ms). Defaults: reads 2000, writes 5000, connect 5000. */
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Most videos `top` scores (the most recently active first drop out beyond it). Default 20,000. */
  maxTopCandidates?: number;
  /** Concurrent partition requests of one call. Default 16. */
  concurrency?: number;
}

export const SEED_REPLICATION: Record<string, number> = { us: 3, eu: 3, apac: 3 };

const KEYSPACE_RE = /^[a-z][a-z0-9_]{0,47}$/;

/** CQL that creates the keyspace and tables (idempotent), in order. */
export function cassandraSchema(keyspace = "fyp_timelines", replication: Record<string, number> = SEED_REPLICATION): string[] {
  if (!KEYSPACE_RE.test(keyspace)) throw new TimelineQueryError(`bad keyspace name ${keyspace}`);
  const dcs = Object.entries(replication);
  if (!dcs.length || dcs.some(([dc, n]) => !/^[A-Za-z0-9_-]+$/.test(dc) || !Number.isInteger(n) || n < 1)) throw new TimelineQueryError("bad replication map");
  const rf = dcs.map(([dc, n]) => `'${dc}': ${n}`).join(", ");
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', ${rf}} AND durable_writes = true`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.video_events (
       video_id bigint, bucket bigint, ts timestamp, event_id text,
       type text, user_id bigint, region text, watch_ms int,
       PRIMARY KEY ((video_id, bucket), ts, event_id)
     ) WITH CLUSTERING ORDER BY (ts DESC, event_id DESC)
       AND compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.region_active_videos (
       region text, bucket bigint, video_id bigint,
       PRIMARY KEY ((region, bucket), video_id)
     )`,
  ];
}

/**
 * Options from the environment; null when CASSANDRA_CONTACT_POINTS is unset. CASSANDRA_LOCAL_DC (default
 * "us"), CASSANDRA_KEYSPACE, CASSANDRA_REPLICATION ("dc:n,dc:n"; default the seed's us:3,eu:3,apac:3 —
 * a one-node test cluster needs e.g. "datacenter1:1"), TIMELINE_BUCKET_MS (default one hour).
 */
export function cassandraOptionsFromEnv(env: Record<string, string | undefined> = process.env): CassandraTimelineOptions | null {
  const points = env.CASSANDRA_CONTACT_POINTS?.split(",").map((s) => s.trim()).filter(Boolean);
  if (!points?.length) return null;
  const replication = env.CASSANDRA_REPLICATION
    ? Object.fromEntries(env.CASSANDRA_REPLICATION.split(",").map((p) => { const [dc, n] = p.split(":"); return [dc.trim(), Number(n)]; }))
    : undefined;
  return { contactPoints: points, localDataCenter: env.CASSANDRA_LOCAL_DC ?? "us", keyspace: env.CASSANDRA_KEYSPACE, replication,
    bucketMs: bucketWidthFromEnv(env.TIMELINE_BUCKET_MS) };
}

/** Runs f over items with at most `n` in flight; rejects with the first error. */
async function eachLimited<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < items.length) await f(items[next++]); };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

const micros = (ms: number) => BigInt(ms) * 1000n;

export class CassandraTimelineStore implements TimelineStore {
  readonly kind = "cassandra";
  readonly client: cassandra.Client;
  private readonly ks: string;
  private readonly bucketMs: number;
  private readonly read: cassandra.QueryOptions;
  private readonly write: cassandra.QueryOptions;
  private readonly maxTop: number;
  private readonly conc: number;

  private constructor(client: cassandra.Client, o: CassandraTimelineOptions) {
    this.client = client;
    this.ks = o.keyspace ?? "fyp_timelines";
    this.bucketMs = o.bucketMs ?? DEFAULT_BUCKET_MS;
    this.read = { prepare: true, consistency: LOCAL_QUORUM, readTimeout: o.readTimeoutMs ?? 2000, fetchSize: 5000, isIdempotent: true };
    this.write = { prepare: true, consistency: LOCAL_QUORUM, readTimeout: o.writeTimeoutMs ?? 5000, isIdempotent: true };
    this.maxTop = o.maxTopCandidates ?? 20_000;
    this.conc = o.concurrency ?? 16;
  }

  /** Connects, creates the keyspace/tables if missing (waits for schema agreement), returns the store. */
  static async connect(o: CassandraTimelineOptions): Promise<CassandraTimelineStore> {
    const client = new cassandra.Client({
      contactPoints: o.contactPoints,
      localDataCenter: o.localDataCenter,
      encoding: { useBigIntAsLong: true },
      socketOptions: { connectTimeout: o.connectTimeoutMs ?? 5000, readTimeout: o.writeTimeoutMs ?? 5000 },
      queryOptions: { consistency: LOCAL_QUORUM },
    });
    try {
      await client.connect();
      for (const cql of cassandraSchema(o.keyspace, o.replication ?? SEED_REPLICATION)) await client.execute(cql, [], { readTimeout: 30_000 });
    } catch (e) {
      await client.shutdown().catch(() => {});
      throw e;
    }
    return new CassandraTimelineStore(client, o);
  }

  close(): Promise<void> {
    return this.client.shutdown();
  }

  async append(events: TimelineEvent[]): Promise<void> {
    const insEvent = `INSERT INTO ${this.ks}.video_events (video_id, bucket, ts, event_id, type, user_id, region, watch_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`;
    const insActive = `INSERT INTO ${this.ks}.region_active_videos (region, bucket, video_id) VALUES (?, ?, ?) USING TIMESTAMP ?`;
    for (const e of events) checkEvent(e);
    await eachLimited(events, this.conc, async (e) => {
      const bucket = BigInt(bucketOf(e.tsMs, this.bucketMs));
      await this.client.execute(insEvent, [BigInt(e.videoId), bucket, new Date(e.tsMs), e.eventId, e.type, BigInt(e.userId), e.region, e.watchMs, micros(e.tsMs)], this.write);
      await this.client.execute(insActive, [e.region, bucket, BigInt(e.videoId), micros(e.tsMs)], this.write);
    });
  }

  async events(videoId: string, q: EventsQuery): Promise<EventsPage> {
    checkId(videoId, "videoId");
    checkWindow(q);
    const below = q.cursor ? decodeCursor(q.cursor) : { tsMs: q.toMs, eventId: "" };
    if (below.tsMs > q.toMs) throw new TimelineQueryError("cursor outside the window");
    const cql = `SELECT video_id, ts, event_id, type, user_id, region, watch_ms FROM ${this.ks}.video_events
                  WHERE video_id = ? AND bucket = ? AND (ts, event_id) < (?, ?) AND (ts, event_id) >= (?, ?) LIMIT ?`;
    const out: TimelineEvent[] = [];
    // Newest bucket first, one partition at a time, until the page (plus one, to know if more exist) is full.
    for (let b = bucketOf(below.tsMs, this.bucketMs); b >= bucketOf(q.fromMs, this.bucketMs) && out.length <= q.limit; b -= this.bucketMs) {
      const rs = await this.client.execute(cql,
        [BigInt(videoId), BigInt(b), new Date(below.tsMs), below.eventId, new Date(q.fromMs), "", q.limit + 1 - out.length], this.read);
      for (const r of rs.rows) out.push({
        videoId: String(r.video_id), tsMs: (r.ts as Date).getTime(), eventId: r.event_id, type: r.type as TimelineEventType,
        userId: String(r.user_id), region: r.region, watchMs: r.watch_ms ?? null,
      });
    }
    const events = out.slice(0, q.limit);
    return { events, next: out.length > q.limit ? encodeCursor(events[events.length - 1]) : null };
  }

  async counts(videoIds: string[], q: CountsQuery): Promise<Map<string, TypeCounts>> {
    checkWindow(q);
    for (const id of videoIds) checkId(id, "videoId");
    const out = new Map<string, TypeCounts>();
    const buckets = bucketsInWindow(q.fromMs, q.toMs, this.bucketMs);
    const cql = `SELECT type, region FROM ${this.ks}.video_events WHERE video_id = ? AND bucket = ? AND ts >= ? AND ts < ?`;
    const parts = videoIds.flatMap((v) => buckets.map((b) => [v, b] as const));
    await eachLimited(parts, this.conc, async ([v, b]) => {
      const rs = await this.client.execute(cql, [BigInt(v), BigInt(b), new Date(q.fromMs), new Date(q.toMs)], this.read);
      // The ResultSet pages on iteration (fetchSize rows per page): a full 100 MB partition never sits in memory.
      for await (const r of rs) {
        if (q.region !== undefined && r.region !== q.region) continue;
        const c = out.get(v) ?? {};
        c[r.type as TimelineEventType] = (c[r.type as TimelineEventType] ?? 0) + 1;
        out.set(v, c);
      }
    });
    return out;
  }

  async top(q: TopQuery): Promise<TopEntry[]> {
    checkWindow(q, MAX_TOP);
    if (!Object.values(q.weights).some((w) => w)) return [];
    const active = new Set<string>();
    const cql = `SELECT video_id FROM ${this.ks}.region_active_videos WHERE region = ? AND bucket = ?`;
    // Newest buckets first, so if the cap bites it is the least recently active videos that drop out.
    for (const b of bucketsInWindow(q.fromMs, q.toMs, this.bucketMs)) {
      const rs = await this.client.execute(cql, [q.region, BigInt(b)], this.read);
      for await (const r of rs) {
        if (active.size >= this.maxTop) break;
        active.add(String(r.video_id));
      }
    }
    const counts = await this.counts([...active], { fromMs: q.fromMs, toMs: q.toMs, region: q.region });
    const scored: TopEntry[] = [];
    for (const [videoId, c] of counts) {
      const relevant = Object.fromEntries(Object.entries(c).filter(([t]) => (q.weights[t as TimelineEventType] ?? 0) !== 0)) as TypeCounts;
      if (Object.keys(relevant).length) scored.push({ videoId, score: scoreOf(c, q.weights), counts: relevant });
    }
    return scored.sort(compareTop).slice(0, q.limit);
  }
}
