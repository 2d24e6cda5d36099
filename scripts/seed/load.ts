// Bulk loading of the synthetic data with COPY … FROM STDIN (text format) via pg-copy-streams: one
// round trip per table instead of one per row, which is what keeps a 100k-video seed in seconds.
// Residency: videos go to every region's database; users, follows and interactions only to the home one.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { EMBEDDING_DIM, VIDEO_LIKES_FROM_INTERACTIONS } from "../../shared/db/schema.ts";
import type { Region } from "../../shared/local-ports.ts";
import { type Catalogue, REGION_CODES, STATUS_CODES, TOPIC_NAMES } from "./generate.ts";
import { INTERACTION_TYPES, type Interactions } from "./interactions.ts";
import { bucketOf, DAY_MS, DEFAULT_BUCKET_MS } from "../../origin/timeline/buckets.ts";
import { timelineEventId } from "../../origin/timeline/from-events.ts";

const CHUNK_ROWS = 4000;
const iso = (ms: number) => new Date(Math.round(ms)).toISOString();

// Text-format array literal; 5 decimals is well inside real's precision and keeps the payload small.
function arrayLiteral(emb: Float32Array, off: number): string {
  let s = "{";
  for (let d = 0; d < EMBEDDING_DIM; d++) s += (d ? "," : "") + emb[off + d].toFixed(5);
  return s + "}";
}

/** Rows [0, n) rendered in chunks of CHUNK_ROWS lines; `row` returns null to skip a row. */
function chunked(n: number, row: (i: number) => string | null): { chunks: string[]; rows: number } {
  const chunks: string[] = [];
  let buf = "", inBuf = 0, rows = 0;
  for (let i = 0; i < n; i++) {
    const line = row(i);
    if (line === null) continue;
    buf += line + "\n";
    rows++;
    if (++inBuf === CHUNK_ROWS) {
      chunks.push(buf);
      buf = "";
      inBuf = 0;
    }
  }
  if (buf) chunks.push(buf);
  return { chunks, rows };
}

export interface TableData {
  table: string;
  columns: string;
  chunks: string[];
  rows: number;
}

export function encodeVideos(cat: Catalogue): TableData {
  const v = cat.videos, u = cat.users;
  const { chunks, rows } = chunked(v.n, (j) =>
    [
      j + 1, v.author[j] + 1, `${TOPIC_NAMES[v.topic[j]]} clip #${j + 1}`, v.durationMs[j], v.topic[j],
      arrayLiteral(v.emb, j * EMBEDDING_DIM), v.popularity[j], v.views[j], v.likes[j],
      REGION_CODES[u.region[v.author[j]]], STATUS_CODES[v.status[j]], iso(v.createdMs[j]),
    ].join("\t"),
  );
  return {
    table: "videos",
    columns: "video_id, author_id, caption, duration_ms, topic, embedding, popularity, views, likes, upload_region, status, created_at",
    chunks, rows,
  };
}

export function encodeUsers(cat: Catalogue, region: Region): TableData {
  const u = cat.users, r = REGION_CODES.indexOf(region);
  const { chunks, rows } = chunked(u.n, (i) =>
    u.region[i] !== r ? null : [i + 1, `user${i + 1}`, region, arrayLiteral(u.emb, i * EMBEDDING_DIM), iso(u.createdMs[i])].join("\t"),
  );
  return { table: "users", columns: "user_id, handle, home_region, embedding, created_at", chunks, rows };
}

export function encodeFollows(cat: Catalogue, region: Region): TableData {
  const f = cat.follows, r = REGION_CODES.indexOf(region), home = cat.users.region;
  const { chunks, rows } = chunked(f.follower.length, (k) =>
    home[f.follower[k]] !== r ? null : `${f.follower[k] + 1}\t${f.followee[k] + 1}\t${iso(f.createdMs[k])}`,
  );
  return { table: "follows", columns: "follower_id, followee_id, created_at", chunks, rows };
}

export function encodeInteractions(cat: Catalogue, it: Interactions, region: Region): TableData {
  const r = REGION_CODES.indexOf(region), home = cat.users.region, author = cat.videos.author;
  const { chunks, rows } = chunked(it.n, (i) => {
    const u = it.user[i];
    if (home[u] !== r) return null;
    const ts = iso(it.tsMs[i]);
    return [
      u + 1, it.video[i] + 1, author[it.video[i]] + 1, INTERACTION_TYPES[it.type[i]], it.watchMs[i], ts,
      `seed-${u + 1}-${it.seq[i]}`, region, ts,
    ].join("\t");
  });
  return { table: "interactions", columns: "user_id, video_id, author_id, type, watch_ms, ts, idempotency_key, region, written_at", chunks, rows };
}

/** Most seeded timeline events per region (the newest are kept): bounds the seed's time and size. */
export const MAX_SEED_TIMELINE_EVENTS = 50_000;

/**
 * The region's seeded interactions of the last `windowMs` before `nowMs` as timeline events (the rows
 * the events path would have appended: same event id, hourly buckets), so regional trending (computed
 * from the timelines' last 24 h, origin/timeline/trending.ts) is not static on a fresh stack. At most
 * `max` rows, the newest.
 */
export function encodeTimeline(cat: Catalogue, it: Interactions, region: Region, nowMs: number, windowMs = DAY_MS, max = MAX_SEED_TIMELINE_EVENTS): TableData {
  const r = REGION_CODES.indexOf(region), home = cat.users.region;
  let picked: number[] = [];
  for (let i = 0; i < it.n; i++) if (home[it.user[i]] === r && it.tsMs[i] >= nowMs - windowMs && it.tsMs[i] <= nowMs) picked.push(i);
  if (picked.length > max) picked = picked.sort((a, b) => it.tsMs[b] - it.tsMs[a]).slice(0, max);
  const { chunks, rows } = chunked(picked.length, (k) => {
    const i = picked[k], u = it.user[i] + 1, ts = Math.round(it.tsMs[i]);
    return [
      it.video[i] + 1, bucketOf(ts, DEFAULT_BUCKET_MS), iso(ts), timelineEventId(String(u), `seed-${u}-${it.seq[i]}`),
      INTERACTION_TYPES[it.type[i]], u, region, it.watchMs[i],
    ].join("\t");
  });
  return { table: "timeline_events", columns: "video_id, bucket, ts, event_id, type, user_id, region, watch_ms", chunks, rows };
}

export async function copyTable(client: pg.Client, data: TableData): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${data.table} (${data.columns}) FROM STDIN`));
  await pipeline(Readable.from(data.chunks), stream);
}

/**
 * Replaces one region's seed data in a single transaction, so a crash mid-way leaves the previous state
 * (or nothing) — never a half seed with a seed_meta row claiming it is complete.
 */
export async function loadRegion(client: pg.Client, tables: TableData[], metaParams: string, centroids: number[][] = []): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("DELETE FROM seed_meta");
    await client.query("TRUNCATE users, videos, follows, interactions, timeline_events, ivf_centroids, video_likes RESTART IDENTITY");
    for (const t of tables) await copyTable(client, t);
    // The seeded likes are the users' like state, so a seeded like is not counted again (origin/events-write.ts).
    await client.query(VIDEO_LIKES_FROM_INTERACTIONS);
    // IVF lists = the generator's topics: the origin probes the lists nearest to a user's embedding.
    for (let i = 0; i < centroids.length; i++) await client.query("INSERT INTO ivf_centroids (list, centroid) VALUES ($1, $2)", [i, centroids[i]]);
    const count = (name: string) => tables.find((t) => t.table === name)?.rows ?? 0;
    await client.query(
      "INSERT INTO seed_meta (id, params, users, videos, follows, interactions) VALUES (1, $1, $2, $3, $4, $5)",
      [metaParams, count("users"), count("videos"), count("follows"), count("interactions")],
    );
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
  // VACUUM as well as ANALYZE (task HB): a bulk load left for autovacuum is vacuumed (insert threshold) in
  // the minutes after start, its I/O competing with the first requests' queries on a 2-core box.
  await client.query("VACUUM (ANALYZE) users, videos, follows, interactions, timeline_events, video_likes");
}
