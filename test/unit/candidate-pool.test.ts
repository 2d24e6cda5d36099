import { describe, expect, it } from "vitest";
import { CANDIDATES } from "../../shared/config.ts";
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import { levelPolicy } from "../../shared/degradation.ts";
import { generateCandidates } from "../../origin/candidates.ts";
import { scriptedDb, scriptedRedis } from "../support/failing-deps.ts";

// The candidate pool's size per level (DESIGN §3: "candidate pool 5K→1K" from level 1) on the real
// candidate step (origin/candidates.ts), whose pool the feed pipeline takes from the level policy
// (test/unit/feed-levels.test.ts checks that hand-over). Postgres is a recording Db behind our own
// interface whose every source answers exactly the LIMIT it is asked for, with ids of its own; Redis is
// unreachable (lists are read from the Db). The sources' shares add up to a little more than the pool
// (each list has a floor, the user follows authors), so the pool's own cap decides the size.

const user = { id: "1", emb: new Float32Array(EMBEDDING_DIM), homeRegion: "us" as const, followees: ["7", "8"], recent: [] };
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => String(from + i));

/** A catalogue with plenty of every source: each statement gets the rows its LIMIT asks for. */
function catalogue() {
  return scriptedDb((sql, params) => {
    if (sql.includes("CROSS JOIN LATERAL")) return (params[0] as string[]).flatMap((a, k) => range(1_000_000 + k * 10_000, 600).map((v, i) => ({ a, v, t: 1e12 - i })));
    if (sql.includes("timeline_events")) return [];
    if (sql.includes("upload_region = $1")) return range(3_000_000, params[1] as number).map((video_id) => ({ video_id }));
    if (sql.includes("topic = $1")) return range(2_000_000 + (params[0] as number) * 100_000, params[1] as number).map((video_id) => ({ video_id }));
    if (sql.includes("TABLESAMPLE")) return range(4_000_000, params[1] as number).map((video_id) => ({ video_id }));
    return [];
  });
}

describe("candidate pool per level", () => {
  it("level 1 (and 2): at most 1,000 candidates, every source asked for its share of 1,000", async () => {
    const db = catalogue();
    const pool = await generateCandidates(db, scriptedRedis(), user, { pool: levelPolicy(1).candidatePool, region: "us", exclude: new Set(), mix: levelPolicy(1).mix, topics: [1, 2, 3], exploreSeed: 11 });
    expect(levelPolicy(1).candidatePool).toBe(CANDIDATES.degradedPool);
    expect(levelPolicy(2).candidatePool).toBe(CANDIDATES.degradedPool);
    expect(pool.size).toBe(1000);
    // Asked per source for its share of 1K, never for a 5K pool's.
    const trendingLimit = db.triesOf("upload_region = $1")[0].params[1] as number;
    expect(trendingLimit).toBe(Math.round(levelPolicy(1).mix.trending * 1000));
    const topicLimits = db.triesOf("topic = $1").map((t) => t.params[1] as number);
    expect(Math.max(...topicLimits)).toBe(Math.round((levelPolicy(1).mix.similar / 2) * 1000));
  });

  it("level 0: the 5K pool from the same catalogue", async () => {
    const pool = await generateCandidates(catalogue(), scriptedRedis(), user, { pool: levelPolicy(0).candidatePool, region: "eu", exclude: new Set(), mix: levelPolicy(0).mix, topics: [4, 5, 6], exploreSeed: 12 });
    expect(levelPolicy(0).candidatePool).toBe(5000);
    expect(pool.size).toBe(5000);
  });
});
