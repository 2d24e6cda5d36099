import { describe, expect, it } from "vitest";
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import { RetryExhaustedError } from "../../shared/retry.ts";
import { followingIds, generateCandidates, trendingIds } from "../../origin/candidates.ts";
import { scriptedDb, scriptedRedis } from "../support/failing-deps.ts";

// Candidate generation's Postgres reads (origin/candidates.ts) under the production DB read row: 3
// retries → 4 tries, 100 ms per try unless the statement sizes its own (regional trending's aggregates).
// Redis is unreachable, so every list is read from the recording Db. Limits differ per test: the lists
// are memoised per isolate by key.

const user = { id: "1", emb: new Float32Array(EMBEDDING_DIM), homeRegion: "us" as const, followees: ["7", "8"], recent: [] };
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ video_id: String(from + i) }));
/** Trending's statements: no timeline events, the static fill from the catalogue. */
const trendingAnswer = (sql: string) => (sql.includes("timeline_events") ? [] : sql.includes("upload_region = $1") ? ids(30, 500) : undefined);

describe("candidates: DB reads under the DB read row", () => {
  it("following: a failing read is tried 4 times (100 ms per try), then RetryExhaustedError", async () => {
    const db = scriptedDb();
    await expect(followingIds(db, user, 11)).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(db.tries.map((t) => t.timeoutMs)).toEqual([100, 100, 100, 100]);
  });

  it("trending: each statement of the computation gets the row's 4 tries, with the statement's own timeout", async () => {
    const db = scriptedDb();
    await expect(trendingIds(db, scriptedRedis(), "eu", 37)).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(db.tries).toHaveLength(4);
    expect(db.tries.every((t) => t.sql.includes("timeline_events") && t.timeoutMs === 2000)).toBe(true);
  });

  it("a pool from sources that fail and then answer: explore after 4 tries, similar after 2", async () => {
    const db = scriptedDb((sql, _p, n) => {
      if (sql.includes("TABLESAMPLE")) return n < 4 ? new Error("reset") : ids(40, 1000);
      if (sql.includes("topic = $1")) return n < 2 ? new Error("reset") : ids(40, 2000);
      return trendingAnswer(sql) ?? [];
    });
    const pool = await generateCandidates(db, scriptedRedis(), null, { pool: 53, region: "apac", exclude: new Set(), topics: [3], exploreSeed: 5 });
    expect(pool.size).toBeGreaterThan(0);
    expect(new Set(pool.values()).has("similar")).toBe(true);
    expect(db.triesOf("TABLESAMPLE")).toHaveLength(4);
    expect(db.triesOf("topic = $1")).toHaveLength(2);
    expect(db.triesOf("topic = $1").every((t) => t.timeoutMs === 100)).toBe(true);
  });

  it("a source that never answers fails the pool after exactly 4 tries of its read", async () => {
    const db = scriptedDb((sql) => (sql.includes("topic = $1") ? new Error("reset") : trendingAnswer(sql) ?? ids(40, 3000)));
    const err = await generateCandidates(db, scriptedRedis(), null, { pool: 59, region: "us", exclude: new Set(), topics: [4], exploreSeed: 6 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhaustedError);
    expect(db.triesOf("topic = $1")).toHaveLength(4);
  });
});
