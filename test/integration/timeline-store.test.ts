import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketOf, bucketsInWindow, bucketWidthFor, DAY_MS, DEFAULT_BUCKET_MS, HOUR_MS, maxEventsPerBucket } from "../../origin/timeline/buckets.ts";
import { CassandraTimelineStore, cassandraOptionsFromEnv, cassandraSchema } from "../../origin/timeline/cassandra.ts";
import { PostgresTimelineStore } from "../../origin/timeline/postgres.ts";
import { regionalTrending, TRENDING } from "../../origin/timeline/trending.ts";
import { TimelineQueryError, type TimelineEvent, type TimelineEventType, type TimelineStore } from "../../origin/timeline/types.ts";
import { freePort } from "../../scripts/local/free-port.ts";
import { startPostgres } from "../../scripts/local/postgres.ts";
import { pgSqlClient, type PgSqlClient } from "../../scripts/timeline/pg-sql-client.ts";
import { partitionOf } from "../../shared/db/shard-router.ts";
import { TIMELINE_PARTITIONS } from "../../shared/db/schema.ts";

// One contract suite, run against every TimelineStore adapter whose server is reachable: Postgres always
// (a real embedded server), Cassandra when CASSANDRA_CONTACT_POINTS names a cluster (no Cassandra server
// can be installed on the dev box; see README "Timelines"). Data written by a run is keyed by random
// video ids and a random region name, so a persistent Cassandra keyspace never disturbs the next run.

const NOW = Date.UTC(2026, 10, 25, 12, 30, 0);
let seq = 0;
const newVideo = () => String(7_000_000_000_000 + Math.floor(Math.random() * 1e9) * 1000 + seq++);
const ev = (videoId: string, tsMs: number, type: TimelineEventType, region: string, n = seq++): TimelineEvent => ({
  videoId, tsMs, eventId: `u${n}:k-${n}`, type, userId: String(100 + (n % 50)), region, watchMs: type === "view" ? 1000 + n : null,
});

function contract(name: string, open: () => Promise<{ store: TimelineStore; close(): Promise<void> }>) {
  describe(`TimelineStore contract: ${name}`, () => {
    let store: TimelineStore;
    let close: () => Promise<void>;
    const region = `r${Math.floor(Math.random() * 1e9)}`;
    beforeAll(async () => ({ store, close } = await open()), 120_000);
    afterAll(async () => close?.());

    it("pages one video's events newest first across buckets, each exactly once, window half-open", async () => {
      const v = newVideo();
      // 25 events over 5 hours (5 hourly buckets), two of them at the same millisecond.
      const events = Array.from({ length: 25 }, (_, i) => ev(v, NOW - i * 12 * 60_000, "view", region));
      events.push(ev(v, events[3].tsMs, "like", region));
      await store.append(events);
      const want = [...events].sort((a, b) => b.tsMs - a.tsMs || (a.eventId < b.eventId ? 1 : -1));
      const window = { fromMs: NOW - 5 * HOUR_MS, toMs: NOW + 1 };
      const got: TimelineEvent[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.events(v, { ...window, limit: 7, cursor });
        expect(page.events.length).toBeLessThanOrEqual(7);
        got.push(...page.events);
        cursor = page.next;
        pages++;
      } while (cursor && pages < 20);
      expect(got.map((e) => e.eventId)).toEqual(want.map((e) => e.eventId));
      expect(got[0]).toEqual(want[0]);
      expect(pages).toBe(4);
      // [from, to): an event exactly at `to` is out, one exactly at `from` is in.
      const edge = await store.events(v, { fromMs: events[4].tsMs, toMs: events[1].tsMs, limit: 100 });
      expect(edge.events.map((e) => e.eventId)).toEqual(want.filter((e) => e.tsMs >= events[4].tsMs && e.tsMs < events[1].tsMs).map((e) => e.eventId));
      expect(edge.next).toBeNull();
      expect((await store.events(newVideo(), { ...window, limit: 10 })).events).toEqual([]);
    });

    it("is idempotent: the same event appended twice (and twice in one batch) is one row", async () => {
      const v = newVideo();
      const a = ev(v, NOW - 1000, "like", region);
      const b = ev(v, NOW - 2000, "view", region);
      await store.append([a, b, a]);
      await store.append([a]);
      await store.append([b, a]);
      const page = await store.events(v, { fromMs: NOW - HOUR_MS, toMs: NOW, limit: 10 });
      expect(page.events.map((e) => e.eventId)).toEqual([a.eventId, b.eventId]);
      const counts = await store.counts([v], { fromMs: NOW - HOUR_MS, toMs: NOW });
      expect(counts.get(v)).toEqual({ like: 1, view: 1 });
    });

    it("counts per type in a window, per region when asked, for many videos at once", async () => {
      const [v1, v2, v3] = [newVideo(), newVideo(), newVideo()];
      const other = `${region}x`;
      await store.append([
        ...Array.from({ length: 5 }, (_, i) => ev(v1, NOW - i * HOUR_MS - 1, "view", region)),
        ev(v1, NOW - 30 * 60_000, "like", region),
        ev(v1, NOW - 10 * 60_000, "view", other),
        ev(v2, NOW - 3 * HOUR_MS, "share", region),
        ev(v2, NOW - 30 * HOUR_MS, "view", region), // outside a 24 h window
      ]);
      const day = { fromMs: NOW - DAY_MS, toMs: NOW };
      const all = await store.counts([v1, v2, v3], day);
      expect(all.get(v1)).toEqual({ view: 6, like: 1 });
      expect(all.get(v2)).toEqual({ share: 1 });
      expect(all.has(v3)).toBe(false);
      expect((await store.counts([v1], { ...day, region })).get(v1)).toEqual({ view: 5, like: 1 });
      expect((await store.counts([v1], { fromMs: NOW - 2 * HOUR_MS, toMs: NOW, region })).get(v1)).toEqual({ view: 2, like: 1 });
      expect((await store.counts([], day)).size).toBe(0);
    });

    it("ranks a region's videos by weighted counts in the window (top), ties by id", async () => {
      const r = `${region}t`;
      const [a, b, c, d] = [newVideo(), newVideo(), newVideo(), newVideo()].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
      await store.append([
        ...Array.from({ length: 5 }, () => ev(a, NOW - 5 * 60_000, "view", r)), // 5
        ...Array.from({ length: 2 }, () => ev(b, NOW - 2 * HOUR_MS, "view", r)), ev(b, NOW - HOUR_MS, "like", r), // 2 + 4 = 6
        ev(c, NOW - 60_000, "like", r), ev(c, NOW - 50_000, "view", r), // 4 + 1 = 5 (ties a; a has the lower id)
        ev(d, NOW - 60_000, "like", r), ev(d, NOW - 30_000, "unlike", r), ev(d, NOW - 20_000, "share", r), // 0
        ev(a, NOW - 2 * DAY_MS, "view", r), // outside the window
        ev(b, NOW - 60_000, "view", `${r}other`), // another region
      ]);
      const top = await store.top({ region: r, fromMs: NOW - DAY_MS, toMs: NOW, weights: TRENDING.weights, limit: 10 });
      expect(top.map((t) => [t.videoId, t.score])).toEqual([[b, 6], [a, 5], [c, 5], [d, 0]]);
      expect(top[0].counts).toEqual({ view: 2, like: 1 });
      expect(top[3].counts).toEqual({ like: 1, unlike: 1 });
      expect((await store.top({ region: r, fromMs: NOW - DAY_MS, toMs: NOW, weights: TRENDING.weights, limit: 2 })).map((t) => t.videoId)).toEqual([b, a]);
      expect(await store.top({ region: `${r}none`, fromMs: NOW - DAY_MS, toMs: NOW, weights: TRENDING.weights, limit: 5 })).toEqual([]);
    });

    it("rejects bad arguments with TimelineQueryError before any I/O", async () => {
      const w = { fromMs: NOW - HOUR_MS, toMs: NOW };
      await expect(store.events("v1", { ...w, limit: 5 })).rejects.toBeInstanceOf(TimelineQueryError);
      await expect(store.events("1", { ...w, limit: 0 })).rejects.toBeInstanceOf(TimelineQueryError);
      await expect(store.events("1", { fromMs: NOW, toMs: NOW - 1, limit: 5 })).rejects.toBeInstanceOf(TimelineQueryError);
      await expect(store.events("1", { ...w, limit: 5, cursor: "nonsense" })).rejects.toBeInstanceOf(TimelineQueryError);
      await expect(store.counts(["x"], w)).rejects.toBeInstanceOf(TimelineQueryError);
      await expect(store.append([{ ...ev("1", NOW, "view", region), type: "follow" as TimelineEventType }])).rejects.toBeInstanceOf(TimelineQueryError);
    });
  });
}

// ── Postgres: a real embedded server, the schema of shared/db/schema.ts. ──
const dir = mkdtempSync(join(tmpdir(), "fyp-timeline-"));
let pgs: Awaited<ReturnType<typeof startPostgres>> | undefined;
let sql: PgSqlClient | undefined;
async function postgres(): Promise<PgSqlClient> {
  if (!sql) {
    pgs = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort() });
    sql = pgSqlClient(pgs.url("fyp_us"));
  }
  return sql;
}
afterAll(async () => {
  await sql?.end();
  await pgs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

contract("postgres", async () => ({ store: new PostgresTimelineStore(await postgres()), close: async () => {} }));

describe("Postgres adapter specifics", () => {
  it("puts a video's rows in the hash partition the app predicts (partitionOf(video) mod 16)", async () => {
    const db = await postgres();
    const store = new PostgresTimelineStore(db);
    const ids = Array.from({ length: 200 }, () => newVideo());
    await store.append(ids.map((v) => ev(v, NOW, "view", "us")));
    const rows = await db.query<{ video_id: string; part: string }>(
      "SELECT video_id::text, tableoid::regclass::text AS part FROM timeline_events WHERE video_id = ANY($1::bigint[])", [ids]);
    expect(rows).toHaveLength(200);
    for (const r of rows) expect(r.part).toBe(`timeline_events_p${String(partitionOf(r.video_id) % TIMELINE_PARTITIONS).padStart(2, "0")}`);
    expect(new Set(rows.map((r) => r.part)).size).toBe(TIMELINE_PARTITIONS);
  });

  it("regional trending follows the timeline window: appended events change the order; static popularity fills", async () => {
    const db = await postgres();
    const store = new PostgresTimelineStore(db);
    const now = Date.now();
    await db.query("DELETE FROM timeline_events WHERE region = 'eu'");
    // Five eu uploads with a static popularity order 1 > 2 > 3 > 4 > 5, one removed video.
    const base = 880_000_000 + Math.floor(Math.random() * 1e6) * 10;
    const vids = [1, 2, 3, 4, 5, 6].map((i) => String(base + i));
    await db.query(
      `INSERT INTO videos (video_id, author_id, caption, duration_ms, topic, embedding, views, upload_region, status)
       SELECT v, 1, 'c', 15000, 0, ARRAY[0]::real[], 1000000 - (v - $2) * 1000, 'eu', CASE WHEN v - $2 = 6 THEN 'removed' ELSE 'active' END
         FROM unnest($1::bigint[]) AS v`, [vids, base]);
    const order = async () => (await regionalTrending(store, db, "eu", 1000, now)).ids.filter((id) => vids.includes(id));
    expect(await order()).toEqual(vids.slice(0, 5)); // empty window: the static popularity

    // Video 4 gets 3 views and a like in the last hour, video 5 two views; video 2 a view 25 h ago (outside).
    const user = "100";
    const e = (v: string, t: number, type: TimelineEventType, k: string): TimelineEvent => ({ videoId: v, tsMs: t, eventId: `${user}:${k}`, type, userId: user, region: "eu", watchMs: null });
    await store.append([
      e(vids[3], now - 60_000, "view", "a"), e(vids[3], now - 50_000, "view", "b"), e(vids[3], now - 40_000, "view", "c"), e(vids[3], now - 30_000, "like", "d"),
      e(vids[4], now - 20_000, "view", "e"), e(vids[4], now - 10_000, "view", "f"),
      e(vids[1], now - 25 * HOUR_MS, "view", "g"),
      e(vids[5], now - 5_000, "view", "h"), e(vids[5], now - 4_000, "view", "i"), e(vids[5], now - 3_000, "view", "j"), // removed video
    ]);
    const r = await regionalTrending(store, db, "eu", 1000, now);
    expect(r.fromTimelines).toBe(2);
    expect(await order()).toEqual([vids[3], vids[4], vids[0], vids[1], vids[2]]);
    // A like outweighs views: two likes for video 5 put it first.
    await store.append([e(vids[4], now - 9_000, "like", "k"), e(vids[4], now - 8_000, "like", "l")]);
    expect((await order())[0]).toBe(vids[4]);
    // The production window is 24 h: a day later the window is empty again and the static order is back.
    expect((await regionalTrending(store, db, "eu", 1000, now + TRENDING.windowMs + 60_000)).ids.filter((id) => vids.includes(id))).toEqual(vids.slice(0, 5));
  });
});

// ── Cassandra: only where a cluster is reachable. ──
const cassandraOpts = cassandraOptionsFromEnv();
describe.skipIf(!cassandraOpts)("Cassandra adapter (CASSANDRA_CONTACT_POINTS)", () => {
  contract("cassandra", async () => {
    const store = await CassandraTimelineStore.connect(cassandraOpts!);
    return { store, close: () => store.close() };
  });
});

describe("Cassandra adapter without a cluster", () => {
  it("rejects an unreachable cluster within its connect timeout instead of hanging", async () => {
    const err = await CassandraTimelineStore.connect({ contactPoints: ["127.0.0.1:9"], localDataCenter: "us", connectTimeoutMs: 2000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("NoHostAvailableError");
  });
});

describe("bucket and schema rules", () => {
  it("derives the bucket width from the ~100 MB partition bound", () => {
    expect(maxEventsPerBucket()).toBe(400_000); // 100 MB / 250 B (measured by bench/timeline-size.ts)
    expect(DEFAULT_BUCKET_MS).toBe(HOUR_MS);
    expect(bucketWidthFor(4)).toBe(DAY_MS); // 345,600 events a day
    expect(bucketWidthFor(5)).toBe(HOUR_MS); // 432,000 a day would pass 100 MB
    expect(bucketWidthFor(111)).toBe(HOUR_MS); // 399,600 an hour
    expect(bucketWidthFor(112)).toBe(10 * 60_000);
    expect(() => bucketWidthFor(10_000)).toThrow(RangeError);
    expect(bucketOf(NOW)).toBe(Date.UTC(2026, 10, 25, 12));
    expect(bucketsInWindow(NOW - 2 * HOUR_MS, NOW)).toEqual([Date.UTC(2026, 10, 25, 12), Date.UTC(2026, 10, 25, 11), Date.UTC(2026, 10, 25, 10)]);
    expect(bucketsInWindow(Date.UTC(2026, 10, 25, 11), Date.UTC(2026, 10, 25, 12))).toEqual([Date.UTC(2026, 10, 25, 11)]);
  });

  it("creates the seed's keyspace: NetworkTopologyStrategy, 3 replicas per region's data centre", () => {
    const [ks, events, active] = cassandraSchema();
    expect(ks).toBe("CREATE KEYSPACE IF NOT EXISTS fyp_timelines WITH replication = {'class': 'NetworkTopologyStrategy', 'us': 3, 'eu': 3, 'apac': 3} AND durable_writes = true");
    expect(events).toMatch(/PRIMARY KEY \(\(video_id, bucket\), ts, event_id\)/);
    expect(events).toMatch(/CLUSTERING ORDER BY \(ts DESC, event_id DESC\)/);
    expect(active).toMatch(/PRIMARY KEY \(\(region, bucket\), video_id\)/);
    expect(() => cassandraSchema("bad-name")).toThrow(TimelineQueryError);
  });
});
