// Synthetic data for the local stack: `node scripts/seed.ts --users 10000 --videos 100000 --pg-port 54329
// [--interactions-per-user 20] [--seed 42] [--force]`, or seedAll() from scripts/stack.ts.
// Idempotent: each region database records the parameters of its last complete seed in `seed_meta`; when
// all three match (and the catalogue is intact) nothing is done. Otherwise — or with --force — the seed
// tables are truncated and reloaded. Content is a pure function of the parameters; timestamps are relative
// to the moment of seeding so "recent" stays recent.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { applySchema } from "../shared/db/apply-schema.ts";
import { EMBEDDING_DIM } from "../shared/db/schema.ts";
import { LOCAL_PG, REGIONS, localPorts, regionDatabase, type Region } from "../shared/local-ports.ts";
import { generateCatalogue, type SeedParams } from "./seed/generate.ts";
import { generateInteractions } from "./seed/interactions.ts";
import { encodeFollows, encodeInteractions, encodeTimeline, encodeUsers, encodeVideos, loadRegion } from "./seed/load.ts";

export interface SeedOptions {
  pgPort: number;
  users: number;
  videos: number;
  interactionsPerUser?: number;
  seed: number;
  force?: boolean;
  log: (line: string) => void;
  /** Reference "now" for timestamps (tests pin it); defaults to the current time. */
  nowMs?: number;
}

export interface SeedResult {
  skipped: boolean;
  users: number;
  videos: number;
  interactions: number;
}

// Bump when the generator changes, so existing local data is reseeded instead of silently kept.
const GENERATOR_VERSION = 3;

const SEED_META_DDL = `CREATE TABLE IF NOT EXISTS seed_meta (
  id           smallint    PRIMARY KEY CHECK (id = 1),
  params       text        NOT NULL,
  users        integer     NOT NULL,
  videos       integer     NOT NULL,
  follows      integer     NOT NULL,
  interactions integer     NOT NULL,
  seeded_at    timestamptz NOT NULL DEFAULT now()
)`;

interface MetaRow {
  params: string;
  users: number;
  videos: number;
  interactions: number;
}

async function connect(port: number, region: Region): Promise<pg.Client> {
  const c = new pg.Client({ host: "127.0.0.1", port, database: regionDatabase(region), ...LOCAL_PG });
  c.on("error", () => {}); // a dropped idle connection must not crash the seeding process
  try {
    await c.connect();
  } catch (e) {
    throw new Error(`cannot connect to ${regionDatabase(region)} on :${port} (is the local Postgres up?): ${(e as Error).message}`);
  }
  return c;
}

/** The seed already in place if all regions carry this exact parameter set and a complete catalogue. */
async function existingSeed(clients: Record<Region, pg.Client>, params: string, videos: number): Promise<SeedResult | null> {
  let users = 0, interactions = 0;
  for (const r of REGIONS) {
    const meta = await clients[r].query<MetaRow>("SELECT params, users, videos, interactions FROM seed_meta WHERE id = 1");
    const m = meta.rows[0];
    if (!m || m.params !== params || m.videos !== videos) return null;
    // Cheap integrity check: someone may have truncated tables by hand since.
    const n = await clients[r].query<{ v: number; u: number }>(
      "SELECT (SELECT count(*) FROM videos)::int AS v, (SELECT count(*) FROM users)::int AS u",
    );
    // Uploads (POST /v1/videos) add videos after the seed: fewer than seeded means damage, more is normal.
    if (n.rows[0].v < m.videos || n.rows[0].u !== m.users) return null;
    users += m.users;
    interactions += m.interactions;
  }
  return { skipped: true, users, videos, interactions };
}

export async function seedAll(opts: SeedOptions): Promise<SeedResult> {
  const log = opts.log;
  const params: SeedParams = {
    users: opts.users,
    videos: opts.videos,
    interactionsPerUser: opts.interactionsPerUser ?? 20,
    seed: opts.seed,
  };
  for (const [k, v] of Object.entries(params)) {
    if (!Number.isInteger(v) || v < (k === "seed" || k === "interactionsPerUser" ? 0 : 1)) throw new Error(`seed: bad ${k} ${v}`);
  }
  const paramKey = JSON.stringify({ v: GENERATOR_VERSION, ...params });
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  const clients = {} as Record<Region, pg.Client>;
  try {
    for (const r of REGIONS) {
      clients[r] = await connect(opts.pgPort, r);
      // Idempotent; makes the seed self-sufficient on a database that only has the schema's DB created.
      await applySchema(clients[r]);
      await clients[r].query(SEED_META_DDL);
    }
    if (!opts.force) {
      const have = await existingSeed(clients, paramKey, params.videos);
      if (have) {
        log(`      seed already present (${have.users} users, ${have.videos} videos, ${have.interactions} interactions); skipping`);
        return have;
      }
    }

    const cat = generateCatalogue(params, opts.nowMs ?? Date.now());
    const its = generateInteractions(cat, params.interactionsPerUser);
    log(`      generated ${params.users} users, ${params.videos} videos, ${cat.follows.follower.length} follows, ${its.n} interactions (${secs()} s)`);

    const centroidRows = Array.from({ length: cat.centroids.length / EMBEDDING_DIM }, (_, t) => Array.from(cat.centroids.subarray(t * EMBEDDING_DIM, (t + 1) * EMBEDDING_DIM)));
    const videos = encodeVideos(cat); // identical in every region: encode once
    const perRegion = REGIONS.map((r) => [encodeUsers(cat, r), videos, encodeFollows(cat, r), encodeInteractions(cat, its, r), encodeTimeline(cat, its, r, cat.nowMs)] as const);
    log(`      encoded COPY payloads (${secs()} s)`);

    // Regions load in parallel: each is its own database and backend.
    await Promise.all(
      REGIONS.map(async (r, i) => {
        const tables = perRegion[i];
        await loadRegion(clients[r], [...tables], paramKey, centroidRows);
        log(`      ${regionDatabase(r)}: ${tables[0].rows} users, ${tables[1].rows} videos, ${tables[2].rows} follows, ${tables[3].rows} interactions, ${tables[4].rows} timeline events of the last 24 h (${secs()} s)`);
      }),
    );
    // Flush the load's dirty pages now, not in a checkpoint during the first minutes of serving (task HB).
    await clients[REGIONS[0]].query("CHECKPOINT");
    log(`      seeded in ${secs()} s`);
    return { skipped: false, users: params.users, videos: params.videos, interactions: its.n };
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.end().catch(() => {})));
  }
}

function cli(): void {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "10000" },
      videos: { type: "string", default: "100000" },
      "interactions-per-user": { type: "string", default: "20" },
      seed: { type: "string", default: "42" },
      "pg-port": { type: "string", default: String(localPorts("dev").postgres) },
      force: { type: "boolean", default: false },
    },
  });
  seedAll({
    pgPort: Number(values["pg-port"]),
    users: Number(values.users),
    videos: Number(values.videos),
    interactionsPerUser: Number(values["interactions-per-user"]),
    seed: Number(values.seed),
    force: values.force,
    log: (l) => console.log(l.trimStart()),
  }).then(
    (r) => console.log(`${r.skipped ? "kept" : "seeded"}: ${r.users} users, ${r.videos} videos, ${r.interactions} interactions`),
    (e) => {
      console.error((e as Error).message);
      process.exitCode = 1;
    },
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) cli();
