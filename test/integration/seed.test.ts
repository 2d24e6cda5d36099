import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { freePort } from "../../scripts/local/free-port.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type LocalPostgres } from "../../scripts/local/postgres.ts";
import { seedAll, type SeedOptions } from "../../scripts/seed.ts";
import { REGIONS, regionDatabase, type Region } from "../../shared/local-ports.ts";

// The seed against a real Postgres: counts, data residency, Zipf skew, learnable structure, idempotence.


const USERS = 300, VIDEOS = 2000, PER_USER = 20;
let dir: string;
let server: LocalPostgres;
const db = {} as Record<Region, pg.Client>;
let base: SeedOptions;
let first: Awaited<ReturnType<typeof seedAll>>;

const one = async <T>(r: Region, sql: string): Promise<T> => (await db[r].query(sql)).rows[0] as T;
const fingerprint = async (r: Region) =>
  one<{ u: string; v: string; i: string }>(r, `SELECT
    (SELECT md5(string_agg(user_id || ':' || embedding::text, ',' ORDER BY user_id)) FROM users) AS u,
    (SELECT md5(string_agg(video_id || ':' || author_id || ':' || views || ':' || embedding::text, ',' ORDER BY video_id)) FROM videos) AS v,
    (SELECT md5(string_agg(idempotency_key || ':' || video_id || ':' || type, ',' ORDER BY idempotency_key)) FROM interactions) AS i`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fyp-seed-"));
  chmodSync(dir, 0o755); // as root, Postgres runs as user "postgres", which must be able to enter it
  server = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort() });
  base = { pgPort: server.port, users: USERS, videos: VIDEOS, interactionsPerUser: PER_USER, seed: 7, log: () => {}, nowMs: Date.UTC(2026, 0, 15) };
  first = await seedAll(base);
  for (const r of REGIONS) {
    db[r] = new pg.Client({ connectionString: server.url(regionDatabase(r)) });
    await db[r].connect();
  }
});

afterAll(async () => {
  for (const c of Object.values(db)) await c.end().catch(() => {});
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("seedAll", () => {
  it("loads the requested counts, with videos replicated into every region", async () => {
    expect(first.skipped).toBe(false);
    expect(first.users).toBe(USERS);
    expect(first.videos).toBe(VIDEOS);
    expect(first.interactions).toBeGreaterThan(USERS * PER_USER * 0.95);
    let users = 0, interactions = 0;
    const videoPrints = new Set<string>();
    for (const r of REGIONS) {
      const c = await one<{ u: number; v: number; i: number; f: number }>(r,
        "SELECT (SELECT count(*) FROM users)::int u, (SELECT count(*) FROM videos)::int v, (SELECT count(*) FROM interactions)::int i, (SELECT count(*) FROM follows)::int f");
      users += c.u;
      interactions += c.i;
      expect(c.v).toBe(VIDEOS);
      expect(c.f).toBeGreaterThan(c.u * 5 - 1); // everyone follows ≥ 5 creators
      videoPrints.add((await fingerprint(r)).v);
      // Ids are dense: users in [1, USERS], videos in [1, VIDEOS].
      const b = await one<{ ok: boolean }>(r, `SELECT coalesce(bool_and(user_id BETWEEN 1 AND ${USERS}), true)
        AND (SELECT bool_and(video_id BETWEEN 1 AND ${VIDEOS}) FROM videos) AS ok FROM users`);
      expect(b.ok).toBe(true);
    }
    expect(users).toBe(USERS);
    expect(interactions).toBe(first.interactions);
    expect(videoPrints.size).toBe(1); // the same catalogue everywhere
  });

  it("keeps users, follows and interactions in the user's home region only", async () => {
    const seen = new Map<string, Region>();
    for (const r of REGIONS) {
      const bad = await one<{ users: number; follows: number; interactions: number }>(r, `SELECT
        (SELECT count(*) FROM users WHERE home_region <> '${r}')::int AS users,
        (SELECT count(*) FROM follows f WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = f.follower_id))::int AS follows,
        (SELECT count(*) FROM interactions i WHERE region <> '${r}'
           OR NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = i.user_id))::int AS interactions`);
      expect(bad).toEqual({ users: 0, follows: 0, interactions: 0 });
      for (const row of (await db[r].query<{ user_id: string }>("SELECT user_id::text FROM users")).rows) {
        expect(seen.has(row.user_id)).toBe(false); // a user lives in exactly one region
        seen.set(row.user_id, r);
      }
      // Uploads carry the author's home region.
      const up = (await db[r].query<{ author_id: string; upload_region: Region }>("SELECT DISTINCT author_id::text, upload_region FROM videos")).rows;
      for (const v of up) if (seen.has(v.author_id)) expect(v.upload_region).toBe(seen.get(v.author_id));
    }
    const share = (r: Region) => [...seen.values()].filter((x) => x === r).length / USERS;
    expect(share("us")).toBeGreaterThan(share("apac")); // 45% vs 25%
  });

  it("records the seeded likes as the users' like state (video_likes), so a seeded like is not counted again", async () => {
    for (const r of REGIONS) {
      const l = await one<{ n: number; want: number }>(r, `SELECT (SELECT count(*) FROM video_likes WHERE liked)::int AS n,
        (SELECT count(DISTINCT (user_id, video_id)) FROM interactions WHERE type = 'like')::int AS want`);
      expect(l.want).toBeGreaterThan(0);
      expect(l.n).toBe(l.want);
    }
  });

  it("fills the timelines with each region's seeded interactions of the last 24 h (what the events path would have appended)", async () => {
    const now = base.nowMs!;
    for (const r of REGIONS) {
      const t = await one<{ n: number; want: number; foreign: number; old: number; unmatched: number }>(r, `SELECT
        (SELECT count(*) FROM timeline_events)::int AS n,
        (SELECT count(*) FROM interactions WHERE ts >= to_timestamp(${(now - 86_400_000) / 1000}) AND ts <= to_timestamp(${now / 1000}))::int AS want,
        (SELECT count(*) FROM timeline_events WHERE region <> '${r}')::int AS foreign,
        (SELECT count(*) FROM timeline_events WHERE ts < to_timestamp(${(now - 86_400_000) / 1000}))::int AS old,
        (SELECT count(*) FROM timeline_events t WHERE NOT EXISTS (SELECT 1 FROM interactions i
           WHERE i.user_id = t.user_id AND t.event_id = i.user_id || ':' || i.idempotency_key AND i.video_id = t.video_id AND i.type = t.type AND i.ts = t.ts))::int AS unmatched`);
      expect(t.n).toBeGreaterThan(0);
      expect(t).toEqual({ n: t.want, want: t.want, foreign: 0, old: 0, unmatched: 0 });
      // Hourly buckets, as the origins write them (origin/timeline/buckets.ts).
      const b = await one<{ bad: number }>(r, "SELECT count(*)::int AS bad FROM timeline_events WHERE bucket <> floor(extract(epoch FROM ts) * 1000 / 3600000) * 3600000");
      expect(b.bad).toBe(0);
    }
  });

  it("has Zipf-skewed popularity and a few removed/blocked videos", async () => {
    const z = await one<{ share: number; inactive: number }>("us", `SELECT
      (SELECT sum(views) FROM (SELECT views FROM videos ORDER BY views DESC LIMIT ${VIDEOS / 100}) t)::float8 / sum(views)::float8 AS share,
      count(*) FILTER (WHERE status <> 'active')::int AS inactive FROM videos`);
    expect(z.share).toBeGreaterThan(0.35); // top 1% of videos hold a large share of all views
    expect(z.inactive).toBeGreaterThan(0);
    expect(z.inactive).toBeLessThan(VIDEOS * 0.03);
    const never = await one<{ n: number }>("us",
      "SELECT count(*)::int n FROM interactions i JOIN videos v USING (video_id) WHERE v.status <> 'active'");
    expect(never.n).toBe(0); // removed/blocked videos are never shown
  });

  it("has learnable structure: liked videos sit closer to the user than skipped ones", async () => {
    let likeSum = 0, likeN = 0, skipSum = 0, skipN = 0;
    for (const r of REGIONS) {
      const rows = (await db[r].query<{ type: string; s: number; n: number }>(`SELECT i.type,
          sum((SELECT sum(a * b) FROM unnest(u.embedding, v.embedding) AS t(a, b)))::float8 AS s, count(*)::int AS n
        FROM interactions i JOIN users u USING (user_id) JOIN videos v USING (video_id)
        WHERE i.type IN ('like', 'skip') GROUP BY i.type`)).rows;
      for (const x of rows) {
        if (x.type === "like") (likeSum += x.s), (likeN += x.n);
        else (skipSum += x.s), (skipN += x.n);
      }
    }
    expect(likeN).toBeGreaterThan(50);
    expect(skipN).toBeGreaterThan(50);
    expect(likeSum / likeN).toBeGreaterThan(skipSum / skipN + 0.15);
  });

  it("skips an identical re-run, reseeds on a parameter change or --force, deterministically", async () => {
    const before = await fingerprint("eu");
    const again = await seedAll(base);
    expect(again).toEqual({ ...first, skipped: true });
    expect(await fingerprint("eu")).toEqual(before);

    const other = await seedAll({ ...base, seed: 8 });
    expect(other.skipped).toBe(false);
    expect((await fingerprint("eu")).v).not.toBe(before.v);

    const back = await seedAll({ ...base, force: true });
    expect(back.skipped).toBe(false);
    expect(await fingerprint("eu")).toEqual(before); // same parameters → the same data, bit for bit
    expect((await seedAll(base)).skipped).toBe(true);
  });
});
