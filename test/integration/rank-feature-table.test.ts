import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRankingServer, type RankingServer } from "../../gpu-inference/server.ts";
import { registerSyntheticModel } from "../../gpu-inference/tiny-model.ts";
import { addToRegionCounters } from "../../origin/counter-flush.ts";
import type { Db } from "../../origin/db.ts";
import { RankingError, rankByIds } from "../../origin/ranking-client.ts";
import { insertVideo } from "../../origin/video-writes.ts";
import { freePort } from "../../scripts/local/free-port.ts";
import { startPostgres, type LocalPostgres } from "../../scripts/local/postgres.ts";
import { seedWithReplication } from "../../scripts/local/replication.ts";
import { seedAll } from "../../scripts/seed.ts";
import { REGIONS, regionDatabase, type Region } from "../../shared/local-ports.ts";
import { contextFeatures, encodeColumnar, type RankResponse } from "../../shared/rank-contract.ts";
import { encodeIds } from "../../shared/u64-ids.ts";

// The ranking service's video feature table (issue 13) against a real Postgres (three replicated region
// databases, as the local stack runs them) and the real service: loaded from the region database at
// start, refreshed incrementally (uploads, counts, removals, replicated uploads), unknown ids scored cold
// and fetched on demand, versioned (the version in every by-ids answer, a new generation with a new
// model), and the by-ids form giving the same scores as the caller-built columnar form.

let dir: string;
let server: LocalPostgres;
const client = {} as Record<Region, pg.Client>;
const db = {} as Record<Region, Db>;
let modelDir: string;
const services: RankingServer[] = [];
let srv: RankingServer;

const dbOf = (c: pg.Client): Db => ({
  query: async <T>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as T[],
  probe: async () => void (await c.query("SELECT 1")),
  end: async () => {},
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(f: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const user = { id: "u1", embedding: Array.from({ length: 16 }, (_, i) => Math.cos(i) / 4) };
type Answer = RankResponse & { error?: { code: string; field?: string } };
async function rank(s: RankingServer, body: unknown): Promise<{ status: number; headers: Headers; body: Answer }> {
  const res = await fetch(`${s.url}/v1/rank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer };
}
const byIds = (ids: string[], followees: string[] = [], topK?: number) => ({
  user, by_ids: { ids: encodeIds(ids), ...(followees.length ? { followees: encodeIds(followees) } : {}) }, ...(topK ? { top_k: topK } : {}),
});
const status = async (s: RankingServer) => (await (await fetch(`${s.url}/v1/features`)).json()) as { version: string; rows: number; ready: boolean; source: string };
const metric = async (s: RankingServer, re: RegExp) => Number(re.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);
const activeCount = async () => Number((await client.us.query("SELECT count(*) FROM videos WHERE status = 'active'")).rows[0].count);
const residentOf = async (r: Region) => BigInt((await client[r].query("SELECT user_id FROM users ORDER BY user_id LIMIT 1")).rows[0].user_id);

let nextId = 8_000_000_000n;
async function upload(r: Region): Promise<string> {
  const id = nextId++;
  const res = await insertVideo(db[r], r, { videoId: id, authorId: await residentOf(r), caption: "fresh", durationMs: 15_000, topic: 2, ts: new Date().toISOString(), acceptedIn: r });
  expect(res.kind).toBe("created");
  return id.toString();
}

async function start(over: Parameters<typeof startRankingServer>[0] = {}): Promise<RankingServer> {
  const s = await startRankingServer(
    { port: 0, modelDir, requireSecret: false, maxWaitMs: 0, modelPollMs: 100, featureDatabaseUrl: server.url(regionDatabase("us")), featureRefreshMs: 200, ...over },
    { log: () => {} },
  );
  services.push(s);
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fyp-feature-table-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  server = await startPostgres({ dataDir: join(dir, "pg"), port });
  await seedWithReplication(port, () => seedAll({ pgPort: port, users: 200, videos: 1500, interactionsPerUser: 3, seed: 13, log: () => {} }));
  for (const r of REGIONS) {
    client[r] = new pg.Client({ connectionString: server.url(regionDatabase(r)) });
    await client[r].connect();
    db[r] = dbOf(client[r]);
  }
  modelDir = join(dir, "models");
  await registerSyntheticModel(modelDir, { rows: 2000, epochs: 2, seed: 1 });
  srv = await start();
}, 180_000);

afterAll(async () => {
  for (const s of services) await s.close();
  for (const r of REGIONS) await client[r]?.end().catch(() => {});
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("ranking service feature table (Postgres)", () => {
  it("loads every active video of the region database at start; /readyz and /v1/features name the version", async () => {
    const st = await status(srv);
    expect(st).toMatchObject({ ready: true, source: "postgres", rows: await activeCount() });
    expect(st.version).toMatch(/^1\.\d+$/);
    const ready = (await (await fetch(`${srv.url}/readyz`)).json()) as { feature_table_version: string };
    expect(ready.feature_table_version).toBe(st.version);
    expect(await metric(srv, /^fyp_rank_feature_table_rows (\d+)$/m)).toBe(st.rows);
  });

  it("ranks by ids with the same scores as the columnar form built from the database rows", async () => {
    const rows = (await client.us.query(
      `SELECT video_id::text AS id, author_id::text AS author, embedding, views::float8 AS views, likes::float8 AS likes,
              (extract(epoch FROM created_at) * 1000)::float8 AS created FROM videos WHERE status = 'active' ORDER BY video_id LIMIT 60`,
    )).rows as { id: string; author: string; embedding: number[]; views: number; likes: number; created: number }[];
    const followees = [rows[0].author, rows[7].author];
    const now = Date.now();
    const columnar = encodeColumnar({
      ids: rows.map((r) => r.id),
      embeddings: Float32Array.from(rows.flatMap((r) => r.embedding)),
      ctx: Float32Array.from(rows.flatMap((r) => contextFeatures(r.views, r.likes, followees.includes(r.author), (now - r.created) / 86_400_000))),
    });
    const [a, b] = [await rank(srv, byIds(rows.map((r) => r.id), followees)), await rank(srv, { user, columnar })];
    expect(a.status).toBe(200);
    expect(a.body.feature_table).toEqual({ version: (await status(srv)).version, missing: 0 });
    const expected = new Map(b.body.items.map((it) => [String(it.id), it.score]));
    expect(a.body.items).toHaveLength(rows.length);
    for (const it of a.body.items) expect(it.score).toBeCloseTo(expected.get(String(it.id))!, 3); // creation day is float32 (~3 min)
  });

  it("an upload is rankable from the table within the refresh interval; so is one replicated from another region", async () => {
    const before = (await status(srv)).rows;
    const us = await upload("us");
    const eu = await upload("eu"); // reaches the us database by replication, then the table
    await waitFor(async () => (await status(srv)).rows === before + 2, "both uploads in the table");
    const r = await rank(srv, byIds([us, eu]));
    expect(r.body.feature_table!.missing).toBe(0);
  });

  it("applies count changes and removals incrementally; a removed video is scored cold, never a 5xx", async () => {
    const [v1, v2] = (await client.us.query("SELECT video_id::text AS id FROM videos WHERE status = 'active' ORDER BY video_id LIMIT 2 OFFSET 100")).rows.map((r) => r.id as string);
    const version = (await status(srv)).version;
    await addToRegionCounters(db.us, "us", [{ videoId: v1, views: 5000, likes: 900, unlikes: 0 }]);
    await waitFor(async () => (await status(srv)).version !== version, "a new delta version after the counter flush");
    await client.us.query("UPDATE videos SET status = 'removed', updated_at = now() WHERE video_id = $1", [v2]);
    await waitFor(async () => (await rank(srv, byIds([v1, v2]))).body.feature_table?.missing === 1, "the removal applied");
    const r = await rank(srv, byIds([v1, v2]));
    expect(r.status).toBe(200);
    expect(r.body.items.map((i) => i.id).sort()).toEqual([v1, v2].sort());
  });

  it("an id the table does not hold: 200 scored cold and counted, fetched on demand for the next request; an unknown id is read once", async () => {
    // A row the incremental refresh cannot see (its version is older than the refresh cursor), like a
    // replicated upload that arrived later than the overlap window.
    const id = "7999999999";
    await client.us.query(
      `INSERT INTO videos (video_id, author_id, caption, duration_ms, topic, embedding, upload_region, created_at, updated_at, updated_region)
       SELECT $1, author_id, 'late', duration_ms, topic, embedding, upload_region, created_at, '2020-01-01', upload_region FROM videos ORDER BY video_id LIMIT 1`,
      [id],
    );
    const misses = await metric(srv, /^fyp_rank_feature_misses_total (\d+)$/m);
    const first = await rank(srv, byIds([id, "6999999999"]));
    expect(first.status).toBe(200);
    expect(first.body.feature_table!.missing).toBe(2);
    expect(first.body.items).toHaveLength(2);
    expect(await metric(srv, /^fyp_rank_feature_misses_total (\d+)$/m)).toBe(misses + 2);
    await waitFor(async () => (await rank(srv, byIds([id]))).body.feature_table?.missing === 0, "the on-demand fetch");
    const fetches = await metric(srv, /^fyp_rank_feature_refresh_total\{kind="fetch",result="ok"\} (\d+)$/m);
    for (let i = 0; i < 3; i++) expect((await rank(srv, byIds(["6999999999"]))).body.feature_table!.missing).toBe(1);
    await sleep(100);
    expect(await metric(srv, /^fyp_rank_feature_refresh_total\{kind="fetch",result="ok"\} (\d+)$/m)).toBe(fetches);
  });

  it("a new model gets a new table generation", async () => {
    const gen = Number((await status(srv)).version.split(".")[0]);
    await registerSyntheticModel(modelDir, { rows: 2000, epochs: 1, seed: 2 });
    await waitFor(async () => Number((await status(srv)).version.split(".")[0]) > gen, "the next generation");
  });

  it("refuses malformed by-ids requests with 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ user, by_ids: { ids: "not base64!" } }, "by_ids.ids"],
      [{ user, by_ids: { ids: Buffer.from([1, 2, 3, 4, 5, 6]).toString("base64") } }, "by_ids.ids"],
      [{ user, by_ids: { ids: encodeIds(["1"]), followees: "%%%" } }, "by_ids.followees"],
      [{ user, by_ids: { ids: encodeIds(Array.from({ length: 10_001 }, (_, i) => String(i + 1))) } }, "by_ids.ids"],
      [{ user, by_ids: { ids: encodeIds(["1"]) }, columnar: encodeColumnar({ ids: [], embeddings: new Float32Array(0), ctx: new Float32Array(0) }) }, "candidates"],
      [{ user: { ...user, embedding: [...user.embedding.slice(0, 15), 1e38] }, by_ids: { ids: encodeIds(["1"]) } }, "user.embedding.15"],
    ];
    for (const [body, field] of cases) {
      const r = await rank(srv, body);
      expect(r.status, field).toBe(400);
      expect(r.body.error).toMatchObject({ code: "invalid_request", field });
    }
  });

  it("without a feature table: by-ids requests are 503 feature_table_unavailable with retry-after, the columnar form still works", async () => {
    const bare = await start({ featureDatabaseUrl: undefined });
    const r = await rank(bare, byIds(["1"]));
    expect(r.status).toBe(503);
    expect(r.body.error?.code).toBe("feature_table_unavailable");
    expect(r.headers.get("retry-after")).toBe("1");
    const c = await rank(bare, { user, columnar: encodeColumnar({ ids: ["a"], embeddings: new Float32Array(16), ctx: new Float32Array(4) }) });
    expect(c.status).toBe(200);
    expect((await fetch(`${bare.url}/readyz`)).status).toBe(200);
  });

  it("the origin's rankByIds: the table's version back, non-decimal ids left out, a bad user embedding fails permanently", async () => {
    const ids = (await client.us.query("SELECT video_id::text AS id FROM videos WHERE status = 'active' LIMIT 20")).rows.map((r) => r.id as string);
    const input = { userId: "u1", userEmb: Float32Array.from(user.embedding), ids: [...ids, "v12"], followees: ["1", "x"], topK: 5 };
    const out = await rankByIds(srv.url, input, 5000);
    expect(out.items).toHaveLength(5);
    expect(out.dropped).toEqual(["v12"]);
    expect(out.featureTable).toEqual({ version: (await status(srv)).version, missing: 0 });
    for (const it of out.items) expect(ids).toContain(it.id);
    const bad = { ...input, userEmb: Float32Array.from(user.embedding).fill(Number.NaN, 3, 4) };
    await expect(rankByIds(srv.url, bad, 5000)).rejects.toMatchObject({ permanent: true });
    await expect(rankByIds(srv.url, bad, 5000)).rejects.toBeInstanceOf(RankingError);
  });

  it("production refresh interval (FEATURE_REFRESH_MS default, 10 s): an upload is in the table within it", async () => {
    const prod = await start({ featureRefreshMs: undefined });
    const before = (await status(prod)).rows;
    const t0 = Date.now();
    await upload("us");
    await waitFor(async () => (await status(prod)).rows === before + 1, "the upload in the table", 15_000);
    expect(Date.now() - t0).toBeLessThan(12_000); // 10 s + one refresh's time on a busy box
  }, 30_000);
});
