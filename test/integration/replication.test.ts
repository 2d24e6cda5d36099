import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/local/free-port.ts";
import { startPostgres, type LocalPostgres } from "../../scripts/local/postgres.ts";
import { localReplicationTargets, seedWithReplication } from "../../scripts/local/replication.ts";
import { seedAll } from "../../scripts/seed.ts";
import { PRIVATE_TABLES, VIDEO_PUBLISHED_COLUMNS } from "../../shared/db/replication-schema.ts";
import { publicationName, setSubscriptionsEnabled } from "../../shared/db/replication-setup.ts";
import { REGIONS, regionDatabase, type Region } from "../../shared/local-ports.ts";
import { addToRegionCounters } from "../../origin/counter-flush.ts";
import type { Db } from "../../origin/db.ts";
import { globalChecksums } from "../../origin/replication/checksums.ts";
import { checksumMismatches } from "../../shared/replication-checksums.ts";
import { lagsFromRows, READ_HEARTBEATS_SQL, WRITE_HEARTBEAT_SQL, type HeartbeatRow } from "../../origin/replication/lag.ts";
import { insertVideo, patchVideo, readVideo } from "../../origin/video-writes.ts";
import { followingIds } from "../../origin/candidates.ts";

// Catalogue replication on a real Postgres (issue 14 items 2–3): the three region databases of one
// cluster, publications/subscriptions exactly as the local stack sets them up. Flows are cut with
// ALTER SUBSCRIPTION … DISABLE (the slot keeps the changes), written on both sides, healed with ENABLE,
// and every region must converge. A sampler checks residency the whole time.

let dir: string;
let server: LocalPostgres;
const client = {} as Record<Region, pg.Client>;
const samplerClient = {} as Record<Region, pg.Client>;
const db = {} as Record<Region, Db>;
let targets: ReturnType<typeof localReplicationTargets>;
const residencyViolations: string[] = [];
let residencySamples = 0;
let sampler: NodeJS.Timeout | undefined;
const euUsers: string[] = [];

const dbOf = (c: pg.Client): Db => ({
  query: async <T>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as T[],
  probe: async () => void (await c.query("SELECT 1")),
  end: async () => {},
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(f: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
const residentOf = async (r: Region, offset = 0) =>
  BigInt((await client[r].query("SELECT user_id FROM users ORDER BY user_id LIMIT 1 OFFSET $1", [offset])).rows[0].user_id);
const stats = async (r: Region, id: bigint) => {
  const row = (await client[r].query("SELECT views::int, likes::int FROM videos WHERE video_id = $1", [id.toString()])).rows[0];
  return row ? { views: row.views as number, likes: row.likes as number } : null;
};
let nextId = 9_000_000_000n;
async function upload(r: Region, caption = "hello"): Promise<bigint> {
  const id = nextId++;
  const res = await insertVideo(db[r], r, { videoId: id, authorId: await residentOf(r), caption, durationMs: 15_000, topic: 3, ts: new Date().toISOString(), acceptedIn: r });
  expect(res.kind).toBe("created");
  return id;
}
const presentEverywhere = (id: bigint) => waitFor(async () => (await Promise.all(REGIONS.map((r) => readVideo(db[r], id)))).every(Boolean), `v${id} in every region`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fyp-repl-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  server = await startPostgres({ dataDir: join(dir, "pg"), port });
  await seedWithReplication(port, () => seedAll({ pgPort: port, users: 300, videos: 2000, interactionsPerUser: 5, seed: 11, log: () => {} }));
  targets = localReplicationTargets(port);
  for (const r of REGIONS) {
    client[r] = new pg.Client({ connectionString: server.url(regionDatabase(r)) });
    await client[r].connect();
    db[r] = dbOf(client[r]);
    samplerClient[r] = new pg.Client({ connectionString: server.url(regionDatabase(r)) });
    await samplerClient[r].connect();
  }
  euUsers.push(...(await client.eu.query("SELECT user_id::text FROM users")).rows.map((x) => x.user_id as string));
  // Residency, sampled all along: no private row of an eu user may ever exist in us or apac.
  const check = async () => {
    for (const r of ["us", "apac"] as const) {
      for (const t of PRIVATE_TABLES) {
        const col = t === "follows" ? "follower_id" : "user_id";
        const n = Number((await samplerClient[r].query(`SELECT count(*) FROM ${t} WHERE ${col} = ANY($1::bigint[])`, [euUsers])).rows[0].count);
        if (n) residencyViolations.push(`${n} ${t} rows of eu users in ${r}`);
      }
    }
    residencySamples++;
  };
  const loop = async () => {
    await check().catch(() => {});
    sampler = setTimeout(loop, 250);
  };
  void loop();
}, 180_000);

afterAll(async () => {
  clearTimeout(sampler);
  sampler = undefined;
  for (const r of REGIONS) await Promise.all([client[r]?.end().catch(() => {}), samplerClient[r]?.end().catch(() => {})]);
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("catalogue replication between the region databases", () => {
  it("publishes only the global tables, each region only the rows it owns, videos without the local counts", async () => {
    for (const r of REGIONS) {
      const rows = (await client[r].query("SELECT tablename, attnames::text[] AS attnames, rowfilter FROM pg_publication_tables WHERE pubname = $1", [publicationName(r)])).rows;
      expect(rows.map((x) => x.tablename).sort()).toEqual(["creator_profiles", "replication_heartbeat", "video_counters", "videos"]);
      for (const x of rows) expect(x.rowfilter).toContain(`'${r}'::text`);
      const videos = rows.find((x) => x.tablename === "videos")!;
      expect([...videos.attnames].sort()).toEqual([...VIDEO_PUBLISHED_COLUMNS].sort());
      for (const t of PRIVATE_TABLES) expect(rows.some((x) => x.tablename === t)).toBe(false);
      const subs = (await client[r].query("SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows;
      expect(subs.map((s) => s.subname).sort()).toEqual(REGIONS.filter((x) => x !== r).map((f) => `fyp_${f}_to_${r}`).sort());
    }
  });

  it("an upload written in its creator's home region reaches the other two, with its creator's public profile", async () => {
    const id = await upload("us", "made in us");
    await presentEverywhere(id);
    for (const r of REGIONS) expect((await readVideo(db[r], id))!.caption).toBe("made in us");
    const author = (await readVideo(db.us, id))!.author_id;
    // A candidate in every region: the newest "following" candidate of anyone who follows its creator.
    for (const r of REGIONS) {
      const follower = { id: "1", emb: new Float32Array(16), homeRegion: r, followees: [String(author)], recent: [] };
      expect((await followingIds(db[r], follower, 10))[0]).toBe(id.toString());
    }
    for (const r of REGIONS) {
      const p = await waitFor(async () => (await client[r].query("SELECT handle, home_region FROM creator_profiles WHERE user_id = $1", [author])).rows[0], `profile in ${r}`);
      expect(p.home_region).toBe("us");
    }
  });

  it("measures lag per flow from heartbeats: small while flowing, growing while cut, back down after the heal", async () => {
    const periodMs = 300;
    const lagAtEu = async () => {
      await db.us.query(WRITE_HEARTBEAT_SQL, ["us"]);
      return lagsFromRows("eu", await db.eu.query<HeartbeatRow>(READ_HEARTBEATS_SQL), periodMs).us;
    };
    const flowing = await waitFor(async () => { const l = await lagAtEu(); return l !== null && l !== undefined && l < 1 ? l : null; }, "heartbeat us → eu");
    await setSubscriptionsEnabled(targets, false, { from: "us", to: "eu" });
    await sleep(1000);
    const cut1 = (await lagAtEu())!;
    await sleep(500);
    const cut2 = (await lagAtEu())!;
    expect(cut1).toBeGreaterThan(flowing);
    expect(cut2).toBeGreaterThan(cut1);
    await setSubscriptionsEnabled(targets, true, { from: "us", to: "eu" });
    const healed = await waitFor(async () => { const l = (await lagAtEu())!; return l < cut2 ? l : null; }, "lag back down");
    expect(healed).toBeLessThan(cut2);
    // Every flow reports once every region has beaten.
    for (const r of REGIONS) await db[r].query(WRITE_HEARTBEAT_SQL, [r]);
    for (const to of REGIONS) {
      const lags = await waitFor(async () => { const l = lagsFromRows(to, await db[to].query<HeartbeatRow>(READ_HEARTBEATS_SQL), 10_000); return Object.values(l).every((v) => v !== null) ? l : null; }, `heartbeats into ${to}`);
      expect(Object.keys(lags).sort()).toEqual(REGIONS.filter((r) => r !== to).sort());
    }
  });

  it("cut + heal: a like in us and a like in eu both count in every region, none twice (per-region CRDT counters)", async () => {
    const id = await upload("us");
    await presentEverywhere(id);
    await setSubscriptionsEnabled(targets, false);
    // While cut each side counts only its own.
    await addToRegionCounters(db.us, "us", [{ videoId: id.toString(), views: 1, likes: 1, unlikes: 0 }]);
    await addToRegionCounters(db.eu, "eu", [{ videoId: id.toString(), views: 2, likes: 1, unlikes: 0 }]);
    await addToRegionCounters(db.eu, "eu", [{ videoId: id.toString(), views: 0, likes: 1, unlikes: 1 }]); // like, unlike, like
    await sleep(500);
    expect(await stats("us", id)).toEqual({ views: 1, likes: 1 });
    expect(await stats("eu", id)).toEqual({ views: 2, likes: 1 });
    expect(await stats("apac", id)).toEqual({ views: 0, likes: 0 });
    await setSubscriptionsEnabled(targets, true);
    for (const r of REGIONS) await waitFor(async () => { const s = await stats(r, id); return s?.views === 3 && s.likes === 2; }, `merged counts in ${r}`);
    // Converged state is identical everywhere, and stays so (no double application after the heal).
    await sleep(500);
    const rows = await Promise.all(REGIONS.map(async (r) => (await client[r].query("SELECT region, views::int, likes_added::int, likes_removed::int FROM video_counters WHERE video_id = $1 ORDER BY region", [id.toString()])).rows));
    expect(rows[1]).toEqual(rows[0]);
    expect(rows[2]).toEqual(rows[0]);
    for (const r of REGIONS) expect(await stats(r, id)).toEqual({ views: 3, likes: 2 });
  });

  it("a counter that arrives before its video (third region) still counts once the video lands", async () => {
    await setSubscriptionsEnabled(targets, false, { from: "us", to: "apac" });
    const id = await upload("us");
    await waitFor(() => readVideo(db.eu, id), "video in eu");
    await addToRegionCounters(db.eu, "eu", [{ videoId: id.toString(), views: 5, likes: 2, unlikes: 0 }]);
    await waitFor(async () => (await client.apac.query("SELECT 1 FROM video_counters WHERE video_id = $1", [id.toString()])).rowCount, "eu counter in apac");
    expect(await readVideo(db.apac, id)).toBeNull();
    await setSubscriptionsEnabled(targets, true, { from: "us", to: "apac" });
    await waitFor(async () => { const s = await stats("apac", id); return s?.views === 5 && s.likes === 2; }, "counts in apac");
  });

  it("edits: last writer wins by (updated_at, region), the same answer in every region, whatever order they arrive in", async () => {
    const id = await upload("us", "v1");
    const author = await residentOf("us");
    await presentEverywhere(id);
    const now = Date.now();
    const t = (s: number) => new Date(now + s * 1000).toISOString();
    // A newer edit, then a late (queued) older one: the older one is superseded.
    expect((await patchVideo(db.us, "us", id, author, { caption: "newest" }, t(20), "us")).kind).toBe("applied");
    expect((await patchVideo(db.us, "us", id, author, { caption: "late queued" }, t(10), "eu")).kind).toBe("superseded");
    // Same timestamp from two edges: the region breaks the tie (greatest wins: us > eu > apac).
    expect((await patchVideo(db.us, "us", id, author, { caption: "tie eu" }, t(30), "eu")).kind).toBe("applied");
    expect((await patchVideo(db.us, "us", id, author, { caption: "tie apac" }, t(30), "apac")).kind).toBe("superseded");
    expect((await patchVideo(db.us, "us", id, author, { caption: "tie us" }, t(30), "us")).kind).toBe("applied");
    // A subscriber that already holds a newer version (e.g. after a re-sync) keeps it when older
    // replicated updates arrive after a cut.
    await setSubscriptionsEnabled(targets, false, { from: "us", to: "apac" });
    expect((await patchVideo(db.us, "us", id, author, { caption: "final" }, t(40), "us")).kind).toBe("applied");
    await client.apac.query("UPDATE videos SET caption = 'from the future', updated_at = $2, updated_region = 'us' WHERE video_id = $1", [id.toString(), t(3600)]);
    await setSubscriptionsEnabled(targets, true, { from: "us", to: "apac" });
    await waitFor(async () => (await readVideo(db.eu, id))?.caption === "final", "final in eu");
    await sleep(500);
    expect((await readVideo(db.apac, id))!.caption).toBe("from the future");
    // Everyone else agrees on the LWW winner.
    for (const r of ["us", "eu"] as const) expect((await readVideo(db[r], id))!.caption).toBe("final");
    // Only the creator, only in the home region.
    expect((await patchVideo(db.us, "us", id, author + 1n, { caption: "x" }, t(50), "us")).kind).toBe("forbidden");
    expect((await patchVideo(db.eu, "eu", id, author, { caption: "x" }, t(50), "eu")).kind).toBe("wrong_region");
    expect((await patchVideo(db.us, "us", 1234567890123n, author, { caption: "x" }, t(50), "us")).kind).toBe("not_found");
    // A still newer edit from the home region brings everyone to the same version again.
    expect((await patchVideo(db.us, "us", id, author, { caption: "newest of all" }, t(7200), "us")).kind).toBe("applied");
    for (const r of REGIONS) await waitFor(async () => (await readVideo(db[r], id))?.caption === "newest of all", `newest in ${r}`);
  });

  it("an upload is idempotent by its pre-assigned id and never written for a creator of another region", async () => {
    const author = await residentOf("eu");
    const v = { videoId: nextId++, authorId: author, caption: "once", durationMs: 1000, topic: null, ts: new Date().toISOString(), acceptedIn: "eu" as const };
    expect((await insertVideo(db.eu, "eu", v)).kind).toBe("created");
    expect((await insertVideo(db.eu, "eu", v)).kind).toBe("exists");
    expect((await insertVideo(db.eu, "eu", { ...v, caption: "other", ts: new Date(Date.now() + 1).toISOString() })).kind).toBe("id_taken");
    expect((await insertVideo(db.us, "us", { ...v, videoId: nextId++ })).kind).toBe("no_author");
  });

  it("checksums of the global tables agree in every region once the flows have caught up", async () => {
    const sums = async () => Object.fromEntries(await Promise.all(REGIONS.map(async (r) => [r, await globalChecksums(db[r])] as const)));
    await waitFor(async () => checksumMismatches(await sums()).length === 0, "checksums to agree");
    // A cut flow with writes behind it is reported, and clears after the heal.
    await setSubscriptionsEnabled(targets, false, { from: "eu", to: "us" });
    await upload("eu");
    await sleep(300);
    expect(checksumMismatches(await sums())).toContainEqual({ table: "videos", owner: "eu", region: "us" });
    await setSubscriptionsEnabled(targets, true, { from: "eu", to: "us" });
    await waitFor(async () => checksumMismatches(await sums()).length === 0, "checksums to agree after the heal");
  });

  it("residency held at every sample: no private row of an eu user ever reached us or apac", async () => {
    // An eu user's interaction written in eu during the run stays there.
    await client.eu.query(
      "INSERT INTO interactions (user_id, video_id, type, ts, idempotency_key, region) VALUES ($1, 1, 'like', now(), 'repl-residency-1', 'eu')",
      [euUsers[0]],
    );
    await sleep(1000);
    expect(residencySamples).toBeGreaterThan(10);
    expect(residencyViolations).toEqual([]);
    for (const r of ["us", "apac"] as const)
      expect((await client[r].query("SELECT count(*)::int AS n FROM interactions WHERE idempotency_key = 'repl-residency-1'")).rows[0].n).toBe(0);
  });
});
