// Postgres schema of one region's database. Every region (us, eu, apac) has its own database with the
// same layout. Users, follows and interactions live only in the user's home region (data residency);
// the video catalog is global and replicated into every region.
//
// `users` is PARTITION BY HASH (user_id) into 64 partitions; the 8 shards are Postgres schemas
// shard_0 … shard_7, shard k holding partitions 8k … 8k+7 (users_p00 … users_p63). The app's shard
// router (shared/db/shard-router.ts) predicts the partition and shard Postgres really uses.

import { replicationSchemaStatements } from "./replication-schema.ts";

export const USER_PARTITIONS = 64;
export const SHARDS = 8;
export const PARTITIONS_PER_SHARD = USER_PARTITIONS / SHARDS;
export const EMBEDDING_DIM = 16;

const pad2 = (n: number) => String(n).padStart(2, "0");

export function partitionTableName(partition: number): string {
  const shard = Math.floor(partition / PARTITIONS_PER_SHARD);
  return `shard_${shard}.users_p${pad2(partition)}`;
}

export function schemaStatements(): string[] {
  const out: string[] = [];
  for (let s = 0; s < SHARDS; s++) out.push(`CREATE SCHEMA IF NOT EXISTS shard_${s}`);
  out.push(`CREATE TABLE IF NOT EXISTS users (
    user_id      bigint      NOT NULL,
    handle       text        NOT NULL,
    home_region  text        NOT NULL CHECK (home_region IN ('us','eu','apac')),
    embedding    real[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id)
  ) PARTITION BY HASH (user_id)`);
  for (let p = 0; p < USER_PARTITIONS; p++) {
    out.push(
      `CREATE TABLE IF NOT EXISTS ${partitionTableName(p)} PARTITION OF users FOR VALUES WITH (MODULUS ${USER_PARTITIONS}, REMAINDER ${p})`,
    );
  }
  out.push(`CREATE TABLE IF NOT EXISTS videos (
    video_id     bigint      PRIMARY KEY,
    author_id    bigint      NOT NULL,
    caption      text        NOT NULL,
    duration_ms  integer     NOT NULL CHECK (duration_ms > 0),
    topic        smallint    NOT NULL,
    embedding    real[]      NOT NULL,
    popularity   real        NOT NULL DEFAULT 0,
    views        bigint      NOT NULL DEFAULT 0,
    likes        bigint      NOT NULL DEFAULT 0,
    upload_region text       NOT NULL,
    status       text        NOT NULL DEFAULT 'active' CHECK (status IN ('active','removed','blocked')),
    created_at   timestamptz NOT NULL DEFAULT now()
  )`);
  out.push(`CREATE INDEX IF NOT EXISTS videos_author_recent ON videos (author_id, created_at DESC) WHERE status = 'active'`);
  out.push(`CREATE INDEX IF NOT EXISTS videos_recent ON videos (created_at DESC) WHERE status = 'active'`);
  out.push(`CREATE INDEX IF NOT EXISTS videos_views ON videos (views DESC) WHERE status = 'active'`);
  out.push(`CREATE INDEX IF NOT EXISTS videos_topic_views ON videos (topic, views DESC) WHERE status = 'active'`);
  out.push(`CREATE INDEX IF NOT EXISTS videos_region_views ON videos (upload_region, views DESC) WHERE status = 'active'`);
  // Replicated catalogue: LWW version, CRDT counters, creator profiles, heartbeat (shared/db/replication-schema.ts).
  out.push(...replicationSchemaStatements());
  // Coarse quantizer of the IVF index used for "similar" candidates: one centroid per list; a video's
  // `topic` is the list it is filed under (videos_topic_views serves a list scan).
  out.push(`CREATE TABLE IF NOT EXISTS ivf_centroids (
    list       smallint PRIMARY KEY,
    centroid   real[]   NOT NULL
  )`);
  out.push(`CREATE TABLE IF NOT EXISTS follows (
    follower_id  bigint      NOT NULL,
    followee_id  bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id)
  )`);
  out.push(`CREATE INDEX IF NOT EXISTS follows_followee ON follows (followee_id)`);
  out.push(`CREATE TABLE IF NOT EXISTS interactions (
    id              bigserial   PRIMARY KEY,
    user_id         bigint      NOT NULL,
    video_id        bigint,
    author_id       bigint,
    type            text        NOT NULL CHECK (type IN ('view','like','unlike','share','comment','follow','unfollow','skip')),
    watch_ms        integer,
    ts              timestamptz NOT NULL,
    idempotency_key text        NOT NULL,
    region          text        NOT NULL,
    written_at      timestamptz NOT NULL DEFAULT now()
  )`);
  // Idempotency keys are the client's, so they are unique per user, not globally: two users may pick the
  // same key. Databases made before this rule had a global UNIQUE (idempotency_key): migrate them.
  out.push(`ALTER TABLE interactions DROP CONSTRAINT IF EXISTS interactions_idempotency_key_key`);
  out.push(`CREATE UNIQUE INDEX IF NOT EXISTS interactions_user_idempotency ON interactions (user_id, idempotency_key)`);
  out.push(`CREATE INDEX IF NOT EXISTS interactions_user_ts ON interactions (user_id, ts DESC)`);
  out.push(`CREATE INDEX IF NOT EXISTS interactions_video ON interactions (video_id)`);
  out.push(...videoLikeStatements());
  out.push(...timelineStatements());
  return out;
}

// ── Like state (origin/events-write.ts): one row per (user, video) a user ever
// liked or unliked, in the user's home region (residency, like interactions). `liked` is the current state,
// `ts` the event time and `event_key` the idempotency key of the event that set it (a later-arriving older
// event does not undo a newer one; only the setting event goes into the timelines); counters grow only
// when an event flips the state. Databases made before this table get it with
// the state of their interactions (each pair's latest like/unlike), once, when the table is created.
/** Fills video_likes with each (user, video)'s latest like/unlike of `interactions` (the migration; the seed after its load). */
export const VIDEO_LIKES_FROM_INTERACTIONS = `INSERT INTO video_likes (user_id, video_id, liked, ts, event_key)
        SELECT DISTINCT ON (user_id, video_id) user_id, video_id, type = 'like', ts, idempotency_key FROM interactions
         WHERE type IN ('like', 'unlike') AND video_id IS NOT NULL ORDER BY user_id, video_id, ts DESC, id DESC
      ON CONFLICT (user_id, video_id) DO NOTHING`;

export function videoLikeStatements(): string[] {
  return [`DO $$ BEGIN
    IF to_regclass('public.video_likes') IS NULL THEN
      CREATE TABLE video_likes (
        user_id   bigint      NOT NULL,
        video_id  bigint      NOT NULL,
        liked     boolean     NOT NULL,
        ts        timestamptz NOT NULL,
        event_key text,
        PRIMARY KEY (user_id, video_id)
      );
      ${VIDEO_LIKES_FROM_INTERACTIONS};
    END IF;
  END $$`, `ALTER TABLE video_likes ADD COLUMN IF NOT EXISTS event_key text`];
}

// ── Timelines (issue 14 item 4): per-video event history behind origin/timeline (TimelineStore). ──
// `timeline_events` is PARTITION BY HASH (video_id) into 16 partitions; the time bucket (bucket start,
// epoch ms; origin/timeline/buckets.ts) leads the primary key after video_id, so one (video, bucket) is
// one contiguous key range, like the Cassandra adapter's partition. Rows of one region's users only.
export const TIMELINE_PARTITIONS = 16;

export const timelinePartitionName = (partition: number) => `timeline_events_p${pad2(partition)}`;

export function timelineStatements(): string[] {
  const out = [`CREATE TABLE IF NOT EXISTS timeline_events (
    video_id  bigint      NOT NULL,
    bucket    bigint      NOT NULL,
    ts        timestamptz NOT NULL,
    event_id  text        COLLATE "C" NOT NULL,
    type      text        NOT NULL CHECK (type IN ('view','like','unlike','share','comment','skip')),
    user_id   bigint      NOT NULL,
    region    text        NOT NULL,
    watch_ms  integer,
    PRIMARY KEY (video_id, bucket, ts, event_id)
  ) PARTITION BY HASH (video_id)`];
  for (let p = 0; p < TIMELINE_PARTITIONS; p++) {
    out.push(`CREATE TABLE IF NOT EXISTS ${timelinePartitionName(p)} PARTITION OF timeline_events FOR VALUES WITH (MODULUS ${TIMELINE_PARTITIONS}, REMAINDER ${p})`);
  }
  // Regional trending reads a window of buckets across all videos of a region (index-only scan).
  out.push(`CREATE INDEX IF NOT EXISTS timeline_events_region_bucket ON timeline_events (region, bucket, ts) INCLUDE (video_id, type)`);
  return out;
}
