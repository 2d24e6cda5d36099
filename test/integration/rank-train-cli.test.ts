import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { freePort } from "../../scripts/local/free-port.ts";
import { tmpdir } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "../../scripts/local/embedded-postgres.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaStatements } from "../../shared/db/schema.ts";
import { ModelRegistry } from "../../gpu-inference/registry.ts";
import { createRng } from "../../gpu-inference/train/rng.ts";

// `npm run train` end to end against a real (embedded) Postgres holding the three regional databases,
// seeded here with a known hidden engagement function, the same shape scripts/seed.ts uses:
//   p = sigmoid(a·dot(u,v) + b·log(popularity) + c·followed + d·recency − bias)
const CLI = path.resolve("gpu-inference/train/cli.ts");
const REGIONS = ["us", "eu", "apac"] as const;
const DIM = 16;


const vecLiteral = (v: ArrayLike<number>) => `{${Array.from(v, (x) => x.toFixed(5)).join(",")}}`;

async function seed(pg: EmbeddedPostgres, withData: boolean): Promise<void> {
  const rng = createRng(11);
  const topics = Array.from({ length: 6 }, () => Float32Array.from({ length: DIM }, () => rng.normal()));
  const unit = (c: Float32Array, noise: number) => {
    const v = Float32Array.from(c, (x) => x + noise * rng.normal());
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  };
  const now = Date.now();
  const nVideos = 400;
  const videos = Array.from({ length: nVideos }, (_, i) => {
    const popularity = 1000 / Math.pow(i + 1, 0.9); // Zipf
    const views = Math.round(popularity * 50);
    return {
      id: i + 1, author: 100_000 + (i % 40), emb: unit(topics[rng.int(topics.length)], 0.5), popularity, views,
      likes: Math.round(views * (0.02 + 0.1 * rng.next())), duration: 10_000 + rng.int(50_000), created: now - rng.next() * 30 * 86_400_000,
    };
  });
  for (const [ri, region] of REGIONS.entries()) {
    const db = `fyp_${region}`;
    await pg.createDatabase(db);
    const c = pg.getPgClient(db, "127.0.0.1");
    await c.connect();
    try {
      for (const s of schemaStatements()) await c.query(s);
      if (!withData) continue;
      await c.query(
        `INSERT INTO videos (video_id, author_id, caption, duration_ms, topic, embedding, popularity, views, likes, upload_region, created_at)
         SELECT id, author, 'c', dur, 0, emb::real[], pop, views, likes, 'us', to_timestamp(created / 1000.0)
         FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[], $5::real[], $6::bigint[], $7::bigint[], $8::float8[])
              AS t(id, author, dur, emb, pop, views, likes, created)`,
        [videos.map((v) => v.id), videos.map((v) => v.author), videos.map((v) => v.duration), videos.map((v) => vecLiteral(v.emb)),
          videos.map((v) => v.popularity), videos.map((v) => v.views), videos.map((v) => v.likes), videos.map((v) => v.created)],
      );
      const users = Array.from({ length: 80 }, (_, i) => ({ id: ri * 1000 + i + 1, emb: unit(topics[rng.int(topics.length)], 0.4) }));
      await c.query(
        `INSERT INTO users (user_id, handle, home_region, embedding) SELECT id, 'h' || id, $3, emb::real[] FROM unnest($1::bigint[], $2::text[]) AS t(id, emb)`,
        [users.map((u) => u.id), users.map((u) => vecLiteral(u.emb)), region],
      );
      const follows = new Set<string>();
      for (const u of users) for (let k = 0; k < 4; k++) follows.add(`${u.id}:${100_000 + rng.int(40)}`);
      const fl = [...follows].map((s) => s.split(":").map(Number));
      await c.query(`INSERT INTO follows (follower_id, followee_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])`, [fl.map((f) => f[0]), fl.map((f) => f[1])]);
      const ev = { user: [] as number[], video: [] as number[], type: [] as string[], watch: [] as number[], ts: [] as number[], key: [] as string[] };
      const push = (u: number, v: number, type: string, watch: number, ts: number) => {
        ev.user.push(u); ev.video.push(v); ev.type.push(type); ev.watch.push(watch); ev.ts.push(ts); ev.key.push(`k-${region}-${ev.key.length}`);
      };
      for (const u of users) {
        for (let k = 0; k < 60; k++) {
          const v = videos[Math.min(nVideos - 1, Math.floor(Math.pow(rng.next(), 2) * nVideos))]; // popular videos shown more
          const ts = Math.max(v.created, now - rng.next() * 14 * 86_400_000);
          let dot = 0;
          for (let d = 0; d < DIM; d++) dot += u.emb[d] * v.emb[d];
          const followed = follows.has(`${u.id}:${v.author}`) ? 1 : 0;
          const recency = Math.exp(-(ts - v.created) / 86_400_000 / 7);
          const logit = 4 * dot + 0.3 * Math.log(v.popularity) + 1.5 * followed + 1 * recency - 1.8;
          if (rng.next() < 1 / (1 + Math.exp(-logit))) {
            push(u.id, v.id, "view", Math.round(v.duration * (0.6 + 0.4 * rng.next())), ts);
            if (rng.next() < 0.4) push(u.id, v.id, "like", 0, ts + 1000);
          } else if (rng.next() < 0.5) push(u.id, v.id, "skip", 500, ts);
          else push(u.id, v.id, "view", Math.round(v.duration * 0.3 * rng.next()), ts);
        }
      }
      await c.query(
        `INSERT INTO interactions (user_id, video_id, type, watch_ms, ts, idempotency_key, region)
         SELECT u, v, t, w, to_timestamp(ts / 1000.0), k, $7 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::float8[], $6::text[]) AS x(u, v, t, w, ts, k)`,
        [ev.user, ev.video, ev.type, ev.watch, ev.ts, ev.key, region],
      );
    } finally {
      await c.end();
    }
  }
}

function runCli(args: string[], modelDir: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, MODEL_DIR: modelDir }, timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe("train CLI against Postgres", () => {
  const clusters: EmbeddedPostgres[] = [];
  const dirs: string[] = [];
  let port = 0;
  let emptyPort = 0;

  async function cluster(withData: boolean): Promise<number> {
    const p = await freePort();
    // Directly under the OS temp dir: when run as root, initdb runs as `postgres` and must be able to
    // create its directory there.
    const dir = path.join(tmpdir(), `fyp-rank-pg-${process.pid}-${p}`);
    const pg = new EmbeddedPostgres({ databaseDir: dir, port: p, user: "postgres", password: "postgres", persistent: false, onLog: () => {} });
    await pg.initialise();
    await pg.start();
    clusters.push(pg);
    await seed(pg, withData);
    return p;
  }

  beforeAll(async () => {
    port = await cluster(true);
    emptyPort = await cluster(false);
  });
  afterAll(async () => {
    for (const c of clusters) await c.stop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const tempDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), "fyp-rank-models-"));
    dirs.push(d);
    return d;
  };

  it("trains, prints model vs baseline, beats the baseline and registers a current version with metadata", async () => {
    const dir = tempDir();
    const r = runCli(["--pg-port", String(port), "--epochs", "12", "--seed", "3"], dir);
    expect(r.out).toMatch(/popularity baseline/);
    expect(r.code, r.out).toBe(0);
    const meta = await new ModelRegistry(dir).current();
    expect(meta).not.toBeNull();
    expect(meta!.auc!).toBeGreaterThan(meta!.baseline_auc!);
    expect(meta!.rows).toBeGreaterThan(10_000);
    expect(Date.parse(meta!.data_window.from!)).toBeLessThan(Date.parse(meta!.data_window.to!));
    for (const k of ["version", "auc", "logloss", "baseline_auc", "baseline_logloss", "rows", "created_at"] as const) expect(meta![k]).not.toBeNull();
    expect(readFileSync(path.join(dir, meta!.file)).byteLength).toBeGreaterThan(1000);
  });

  it("fails clearly when the databases are empty or unreachable", async () => {
    const empty = runCli(["--pg-port", String(emptyPort)], tempDir());
    expect(empty.code).toBe(1);
    expect(empty.out).toMatch(/no labelled interactions/);
    const down = runCli(["--pg-port", String(await freePort())], tempDir());
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/cannot connect to postgres:\/\/127\.0\.0\.1:\d+\/fyp_us.*ECONNREFUSED/);
  });
});
