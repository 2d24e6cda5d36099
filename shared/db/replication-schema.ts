// The global (replicated) part of a region's database: what each region publishes to the other two with
// Postgres logical replication (shared/db/replication-setup.ts), and the apply-side rules that make
// every region converge to the same state (DESIGN §3 "Regions", issue 14 items 2–3).
//
//  videos            catalogue rows; published by the creator's home region (`upload_region`), only the
//                    columns below (never views/likes/popularity: those are this region's merged view).
//                    Edits resolve last-writer-wins by (updated_at, updated_region): trigger videos_lww
//                    keeps the newer version whichever order the writes arrive in, locally or replicated.
//  video_counters    per-video, per-region CRDT counters: views (G-counter) and likes as a PN pair
//                    (likes_added, likes_removed). A region only ever writes its own rows (region = self)
//                    and publishes them; a replicated row is merged component-wise by max (idempotent,
//                    commutative), and the delta it adds is folded into videos.views / videos.likes, so
//                    each region's videos row carries seed baseline + Σ over regions.
//  creator_profiles  creators' public profile (handle, home region); published by the home region.
//  replication_heartbeat  one row per region, written by that region (origin/replication/heartbeat.ts),
//                    stamped with its local apply time on arrival: the lag measurement.
//  video_cache_dirty local only: ids whose cached features (Redis, isolate memo) must be dropped because
//                    replication changed the row underneath the origin.
//
// Users, follows and interactions are never published (data residency).

/** Columns of `videos` that replicate (the publication's column list). */
export const VIDEO_PUBLISHED_COLUMNS = [
  "video_id", "author_id", "caption", "duration_ms", "topic", "embedding", "upload_region", "status", "created_at",
  "updated_at", "updated_region",
] as const;

/** Tables each region publishes, with the row filter that keeps a region to the rows it owns. */
export const PUBLISHED_TABLES = [
  { table: "videos", columns: VIDEO_PUBLISHED_COLUMNS as readonly string[], owner: "upload_region" },
  { table: "video_counters", columns: null, owner: "region" },
  { table: "creator_profiles", columns: null, owner: "home_region" },
  { table: "replication_heartbeat", columns: ["region", "ts"], owner: "region" },
] as const;

/** Tables that hold users' private data: never in a publication, never outside the home region. */
export const PRIVATE_TABLES = ["users", "follows", "interactions"] as const;

const REGION_CHECK = "CHECK (%s IN ('us','eu','apac'))";
const regionCol = (name: string) => `${name} text NOT NULL ${REGION_CHECK.replace("%s", name)}`;

/** Replica identity of a table whose row filter column is not in its primary key: (key, owner). */
// Trigger functions pin search_path: apply workers run them with an empty one.
const replicaIdentity = (table: string, index: string) => `DO $$ BEGIN
  IF (SELECT relreplident FROM pg_class WHERE oid = '${table}'::regclass) <> 'i' THEN
    ALTER TABLE ${table} REPLICA IDENTITY USING INDEX ${index};
  END IF;
END $$`;

export function replicationSchemaStatements(): string[] {
  return [
    // --- videos: LWW version + replica identity that covers the row filter column -------------------
    `ALTER TABLE videos ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT 'epoch'`,
    `ALTER TABLE videos ADD COLUMN IF NOT EXISTS updated_region text NOT NULL DEFAULT ''`,
    `CREATE UNIQUE INDEX IF NOT EXISTS videos_owner_key ON videos (video_id, upload_region)`,
    // The ranking service's incremental feature refresh reads rows changed since its cursor (gpu-inference/feature-source.ts).
    `CREATE INDEX IF NOT EXISTS videos_updated ON videos (updated_at)`,
    replicaIdentity("videos", "videos_owner_key"),
    `CREATE OR REPLACE FUNCTION videos_lww() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
    BEGIN
      -- Last writer wins by (updated_at, updated_region): an older version of the published metadata
      -- (a late queued edit, a replicated update that lost the race) leaves ours in place. The other
      -- columns (this region's merged counters) pass through untouched.
      IF (NEW.updated_at, NEW.updated_region) < (OLD.updated_at, OLD.updated_region) THEN
        NEW.caption := OLD.caption; NEW.topic := OLD.topic; NEW.embedding := OLD.embedding;
        NEW.duration_ms := OLD.duration_ms; NEW.status := OLD.status;
        NEW.updated_at := OLD.updated_at; NEW.updated_region := OLD.updated_region;
      END IF;
      IF (NEW.caption, NEW.topic, NEW.status, NEW.updated_at) IS DISTINCT FROM (OLD.caption, OLD.topic, OLD.status, OLD.updated_at) THEN
        INSERT INTO video_cache_dirty (video_id) VALUES (NEW.video_id) ON CONFLICT DO NOTHING;
      END IF;
      RETURN NEW;
    END $$`,
    `CREATE TABLE IF NOT EXISTS video_cache_dirty (video_id bigint PRIMARY KEY, marked_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE OR REPLACE TRIGGER videos_lww BEFORE UPDATE ON videos FOR EACH ROW EXECUTE FUNCTION videos_lww()`,
    `ALTER TABLE videos ENABLE ALWAYS TRIGGER videos_lww`,
    // A replicated video row arrives without views/likes (not published): start from the counters this
    // region already holds for it (a counter may arrive before the video from a third region).
    `CREATE OR REPLACE FUNCTION videos_absorb_counters() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
    DECLARE s record;
    BEGIN
      SELECT coalesce(sum(views), 0) AS v, coalesce(sum(likes_added - likes_removed), 0) AS l INTO s
        FROM video_counters WHERE video_id = NEW.video_id;
      NEW.views := NEW.views + s.v;
      NEW.likes := NEW.likes + s.l;
      RETURN NEW;
    END $$`,
    `CREATE TABLE IF NOT EXISTS video_counters (
      video_id      bigint      NOT NULL,
      ${regionCol("region")},
      views         bigint      NOT NULL DEFAULT 0 CHECK (views >= 0),
      likes_added   bigint      NOT NULL DEFAULT 0 CHECK (likes_added >= 0),
      likes_removed bigint      NOT NULL DEFAULT 0 CHECK (likes_removed >= 0),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (video_id, region)
    )`,
    `CREATE INDEX IF NOT EXISTS video_counters_updated ON video_counters (updated_at)`,
    `CREATE OR REPLACE TRIGGER videos_absorb_counters BEFORE INSERT ON videos FOR EACH ROW EXECUTE FUNCTION videos_absorb_counters()`,
    // Only replicated inserts (apply workers run with session_replication_role = replica); local inserts
    // (seed COPY, uploads) do not pay for it.
    `ALTER TABLE videos ENABLE REPLICA TRIGGER videos_absorb_counters`,
    // --- video_counters: state-based CRDT merge ------------------------------------------------------
    `CREATE OR REPLACE FUNCTION video_counters_merge() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
    BEGIN
      NEW.views := greatest(NEW.views, OLD.views);
      NEW.likes_added := greatest(NEW.likes_added, OLD.likes_added);
      NEW.likes_removed := greatest(NEW.likes_removed, OLD.likes_removed);
      RETURN NEW;
    END $$`,
    `CREATE OR REPLACE TRIGGER video_counters_merge BEFORE UPDATE ON video_counters FOR EACH ROW EXECUTE FUNCTION video_counters_merge()`,
    `ALTER TABLE video_counters ENABLE ALWAYS TRIGGER video_counters_merge`,
    `CREATE OR REPLACE FUNCTION video_counters_fold() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
    DECLARE dv bigint; dl bigint;
    BEGIN
      IF TG_OP = 'INSERT' THEN
        dv := NEW.views; dl := NEW.likes_added - NEW.likes_removed;
      ELSE
        dv := NEW.views - OLD.views; dl := (NEW.likes_added - NEW.likes_removed) - (OLD.likes_added - OLD.likes_removed);
      END IF;
      IF dv <> 0 OR dl <> 0 THEN
        UPDATE videos SET views = views + dv, likes = likes + dl WHERE video_id = NEW.video_id;
        INSERT INTO video_cache_dirty (video_id) VALUES (NEW.video_id) ON CONFLICT DO NOTHING;
      END IF;
      RETURN NULL;
    END $$`,
    `CREATE OR REPLACE TRIGGER video_counters_fold AFTER INSERT OR UPDATE ON video_counters FOR EACH ROW EXECUTE FUNCTION video_counters_fold()`,
    `ALTER TABLE video_counters ENABLE ALWAYS TRIGGER video_counters_fold`,
    // --- creators' public profiles ---------------------------------------------------------------------
    `CREATE TABLE IF NOT EXISTS creator_profiles (
      user_id     bigint      PRIMARY KEY,
      handle      text        NOT NULL,
      ${regionCol("home_region")},
      created_at  timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS creator_profiles_owner_key ON creator_profiles (user_id, home_region)`,
    replicaIdentity("creator_profiles", "creator_profiles_owner_key"),
    // --- heartbeat -------------------------------------------------------------------------------------
    `CREATE TABLE IF NOT EXISTS replication_heartbeat (
      ${regionCol("region")} PRIMARY KEY,
      ts          timestamptz NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
    )`,
    `CREATE OR REPLACE FUNCTION replication_heartbeat_applied() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
    BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END $$`,
    `CREATE OR REPLACE TRIGGER replication_heartbeat_applied BEFORE INSERT OR UPDATE ON replication_heartbeat FOR EACH ROW EXECUTE FUNCTION replication_heartbeat_applied()`,
    `ALTER TABLE replication_heartbeat ENABLE REPLICA TRIGGER replication_heartbeat_applied`,
  ];
}
