// Training data from the regional Postgres databases (schema: shared/db/schema.ts).
//
// One example = one (user, video) impression: every interaction of a user with a video is folded into a
// single row, so a "view" followed by a "like" of the same video is one positive, not two rows.
//   label 1 (engaged): any like/share/comment, or a view watched for ≥ LONG_WATCH_FRACTION of the video
//   label 0:           everything else — skips and short views
// The row's time is the first interaction with that video (when the impression happened), which is
// what the time-based held-out split orders by.
//
// Context features use the serving formula (shared/rank-contract.ts contextFeatures) with the video's age
// at impression time. views/likes/follows are today's values (the schema keeps no history), a small
// leak that the popularity baseline shares, so the comparison stays fair.
//
// Users, follows and interactions live only in a user's home region, so every region is read; the video
// catalog is replicated, so each video is kept once.
import pg from "pg";
import { CTX_DIM, EMBEDDING_DIM, contextFeatures, isFeatureValue } from "../../shared/rank-contract.ts";
import { allocDataset, type Dataset } from "./dataset.ts";

export const LONG_WATCH_FRACTION = 0.5;
export const LABEL_RULE = `like/share/comment, or view with watch_ms >= ${LONG_WATCH_FRACTION} x duration_ms (vs skip / shorter view), one row per (user, video)`;
const DAY_MS = 86_400_000;

export interface DbSourceOptions {
  host?: string; // default 127.0.0.1
  port: number;
  regions?: readonly string[]; // default us, eu, apac
  user?: string;
  password?: string;
  log?: (msg: string) => void;
}

export interface DbDataset {
  data: Dataset;
  window: { from: string; to: string };
  perRegion: Record<string, number>;
}

/** Errors whose message is meant for the operator as-is (no stack needed). */
export class TrainingDataError extends Error {
  override name = "TrainingDataError";
}

interface Video {
  emb: number[];
  author: string;
  views: number;
  likes: number;
  durationMs: number;
  createdMs: number;
}

interface Impression {
  user: number[];
  video: Video;
  positive: boolean;
  followed: boolean;
  ts: number;
}

const IMPRESSIONS_SQL = `
  SELECT g.user_id::text, g.video_id::text, g.positive, g.ts_ms, (f.follower_id IS NOT NULL) AS followed
  FROM (
    SELECT i.user_id, i.video_id,
           bool_or(i.type IN ('like', 'share', 'comment')
                   OR (i.type = 'view' AND i.watch_ms >= $1::float8 * v.duration_ms)) AS positive,
           (extract(epoch FROM min(i.ts)) * 1000)::float8 AS ts_ms
    FROM interactions i JOIN videos v ON v.video_id = i.video_id
    WHERE i.type IN ('view', 'like', 'share', 'comment', 'skip')
    GROUP BY i.user_id, i.video_id
  ) g
  JOIN videos v ON v.video_id = g.video_id
  LEFT JOIN follows f ON f.follower_id = g.user_id AND f.followee_id = v.author_id`;

function explain(e: unknown, where: string): TrainingDataError {
  const err = e as { code?: string; message?: string };
  const hint =
    err.code === "ECONNREFUSED" || err.code === "ETIMEDOUT" || err.code === "ENOTFOUND"
      ? "is the local stack running (npm start)? pass --pg-port to point at another Postgres"
      : err.code === "3D000"
        ? "the database does not exist: run npm start (it creates and seeds all three)"
        : err.code === "42P01"
          ? "the schema is missing: run npm start / npm run seed"
          : "";
  return new TrainingDataError(`${where}: ${err.message ?? String(e)}${err.code ? ` (${err.code})` : ""}${hint ? ` — ${hint}` : ""}`);
}

async function readRegion(o: DbSourceOptions, region: string, videos: Map<string, Video>): Promise<Impression[]> {
  const host = o.host ?? "127.0.0.1";
  const database = `fyp_${region}`;
  const where = `postgres://${host}:${o.port}/${database}`;
  const client = new pg.Client({
    host, port: o.port, database, user: o.user ?? "postgres", password: o.password ?? "postgres",
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
  } catch (e) {
    throw explain(e, `cannot connect to ${where}`);
  }
  try {
    // Array row mode and ::text ids: bigint ids stay exact, and no per-row objects keyed by column name.
    const q = (text: string, values: unknown[] = []) => client.query({ text, values, rowMode: "array" }).then((r) => r.rows as unknown[][]);
    const users = new Map<string, number[]>();
    for (const [id, emb] of await q("SELECT user_id::text, embedding FROM users")) users.set(id as string, emb as number[]);
    const vrows = await q(
      `SELECT video_id::text, author_id::text, embedding, views::float8, likes::float8, duration_ms,
              (extract(epoch FROM created_at) * 1000)::float8 FROM videos`,
    );
    for (const [id, author, emb, views, likes, dur, created] of vrows) {
      if (!videos.has(id as string)) {
        videos.set(id as string, {
          emb: emb as number[], author: author as string, views: views as number, likes: likes as number,
          durationMs: dur as number, createdMs: created as number,
        });
      }
    }
    const out: Impression[] = [];
    for (const [uid, vid, positive, ts, followed] of await q(IMPRESSIONS_SQL, [LONG_WATCH_FRACTION])) {
      const user = users.get(uid as string);
      const video = videos.get(vid as string);
      if (!user || !video) continue; // interaction of a deleted user/video
      out.push({ user, video, positive: positive === true, followed: followed === true, ts: ts as number });
    }
    o.log?.(`  ${database}: ${users.size} users, ${vrows.length} videos, ${out.length} impressions`);
    return out;
  } catch (e) {
    throw e instanceof TrainingDataError ? e : explain(e, `reading ${where}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** An embedding the ranking service would accept: 16 finite values within ±FEATURE_ABS_MAX. */
function validEmbedding(e: unknown): e is number[] {
  return Array.isArray(e) && e.length === EMBEDDING_DIM && e.every(isFeatureValue);
}

/** Reads every region and returns the examples in tensor layout, with their time window. */
export async function loadDataset(o: DbSourceOptions): Promise<DbDataset> {
  const regions = o.regions ?? ["us", "eu", "apac"];
  const videos = new Map<string, Video>();
  const perRegion: Record<string, number> = {};
  const all: Impression[] = [];
  // Sequential: three small reads, and a clear "which region failed" when one does.
  for (const r of regions) {
    const rows = await readRegion(o, r, videos);
    perRegion[r] = rows.length;
    for (const x of rows) all.push(x);
  }
  // Rows with a corrupt embedding (wrong length, NaN, out of range) are dropped, not trained on: one NaN
  // would turn every weight NaN. Context features come from contextFeatures, which clamps its inputs, and
  // the time from Postgres, so those are always finite; assertDataset checks all of it again.
  const usable = all.filter((x) => validEmbedding(x.user) && validEmbedding(x.video.emb) && Number.isFinite(x.ts));
  if (usable.length < all.length) o.log?.(`  dropped ${all.length - usable.length} impressions with a corrupt embedding or time`);
  if (usable.length === 0) {
    throw new TrainingDataError(
      `no labelled interactions in ${regions.map((r) => `fyp_${r}`).join(", ")} on port ${o.port} — seed data first (npm start or npm run seed)`,
    );
  }
  const n = usable.length;
  const d = allocDataset(n, true);
  const ts = d.ts!;
  let from = Infinity;
  let to = -Infinity;
  usable.forEach((x, i) => {
    d.user.set(x.user, i * EMBEDDING_DIM);
    d.video.set(x.video.emb, i * EMBEDDING_DIM);
    const ageDays = Math.max(0, x.ts - x.video.createdMs) / DAY_MS;
    d.ctx.set(contextFeatures(x.video.views, x.video.likes, x.followed, ageDays), i * CTX_DIM);
    d.label[i] = x.positive ? 1 : 0;
    ts[i] = x.ts;
    if (x.ts < from) from = x.ts;
    if (x.ts > to) to = x.ts;
  });
  return { data: d, window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, perRegion };
}
