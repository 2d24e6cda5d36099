import type { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import { levelPolicy } from "../../shared/degradation.ts";
import { defaultUserEmbedding, weightedMeanEmbedding } from "../../origin/cold-start-embedding.ts";
import type { Db } from "../../origin/db.ts";
import { FeatureStore, type FeatureStoreMode } from "../../origin/feature-store.ts";
import { featureStoreMode } from "../../origin/feed/stores.ts";
import { Metrics } from "../../origin/metrics.ts";

// The request's one FeatureStore in each mode the level policy picks (origin/feature-store.ts), over a
// recording Postgres (origin/db.ts `Db`, our interface) and a Redis that is down (every call rejects): what
// each mode reads, and the level-2 default (cold-start) user embedding.

const unit = (i: number) => Array.from({ length: EMBEDDING_DIM }, (_, d) => (d === i ? 1 : 0));

/** A Db answering the feature store's queries from fixed rows, recording every statement. */
function recordingDb(): Db & { sql: string[] } {
  const sql: string[] = [];
  return {
    sql,
    async query<T>(q: string, params: unknown[] = []): Promise<T[]> {
      sql.push(q);
      if (q.includes("FROM users")) return (params[0] === "404" ? [] : [{ embedding: unit(3), home_region: "us" }]) as T[];
      if (q.includes("FROM follows")) return [{ followee_id: "9" }] as T[];
      if (q.includes("FROM interactions")) return (params[0] === "1" ? [{ video_id: "11" }, { video_id: "12" }] : [{ video_id: "13" }]) as T[];
      if (q.includes("ORDER BY views DESC")) return [{ embedding: unit(0), views: "299" }, { embedding: unit(1), views: "99" }] as T[];
      return [];
    },
    probe: async () => {},
    end: async () => {},
  };
}

/** Redis down: any call rejects (the upstash client, not ours to fake beyond "unreachable"). */
const redisDown = new Proxy({}, { get: () => () => Promise.reject(new Error("redis down")) }) as unknown as Redis;
const store = (db: Db, mode: FeatureStoreMode) => new FeatureStore(redisDown, db, new Metrics("us"), undefined, mode);

describe("default (cold-start) user embedding", () => {
  it("is the views-weighted (views + 1) mean of video embeddings, scaled to unit length", () => {
    const e = weightedMeanEmbedding([{ embedding: unit(0), views: 299 }, { embedding: unit(1), views: "99" }]);
    expect(e[0]).toBeCloseTo(300 / Math.hypot(300, 100), 6);
    expect(e[1]).toBeCloseTo(100 / Math.hypot(300, 100), 6);
    expect(Math.hypot(...e)).toBeCloseTo(1, 6);
    expect([...weightedMeanEmbedding([])].every((x) => x === 0)).toBe(true);
  });

  it("is read once per isolate and hour from the most-viewed videos", async () => {
    const db = recordingDb();
    const t = Date.UTC(2030, 0, 1);
    const a = await defaultUserEmbedding(db, t);
    const b = await defaultUserEmbedding(db, t + 59 * 60_000);
    expect(b).toBe(a);
    expect(db.sql.filter((q) => q.includes("ORDER BY views DESC"))).toHaveLength(1);
  });
});

describe("FeatureStore modes (one store per request, mode from the level policy)", () => {
  it("levels map to modes: 0 full, 1 batch-only, 2 cold-start, 3 cache-only", () => {
    expect(([0, 1, 2, 3] as const).map((l) => featureStoreMode(levelPolicy(l)))).toEqual(["full", "batch-only", "cold-start", "cache-only"]);
  });

  it("full: the learned embedding and the real-time recent activity", async () => {
    const db = recordingDb();
    const { user } = await store(db, "full").user("1");
    expect(user).toMatchObject({ followees: ["9"], recent: ["11", "12"] });
    expect([...user!.emb]).toEqual(unit(3));
    expect(db.sql.some((q) => q.includes("FROM interactions"))).toBe(true);
  });

  it("batch-only: no recent-activity query at all", async () => {
    const db = recordingDb();
    const { user } = await store(db, "batch-only").user("1");
    expect(user).toMatchObject({ followees: ["9"], recent: [] });
    expect([...user!.emb]).toEqual(unit(3));
    expect(db.sql.some((q) => q.includes("FROM interactions"))).toBe(false);
  });

  it("cold-start: every user gets the same default embedding (not their own), with their own follows and history", async () => {
    const db = recordingDb();
    const fs = store(db, "cold-start");
    const [a, b] = [(await fs.user("1")).user!, (await fs.user("2")).user!];
    expect([...a.emb]).toEqual([...b.emb]);
    expect([...a.emb]).not.toEqual(unit(3));
    expect(a.recent).toEqual(["11", "12"]);
    expect(b.recent).toEqual(["13"]);
    expect((await fs.user("404")).user).toBeNull();
  });

  it("cache-only: never touches Postgres (here Redis is down too, so reads fail)", async () => {
    const db = recordingDb();
    const fs = store(db, "cache-only");
    await expect(fs.user("1")).rejects.toThrow("redis down");
    await expect(fs.videos(["1", "2"])).rejects.toThrow("redis down");
    expect(db.sql).toEqual([]);
  });
});
