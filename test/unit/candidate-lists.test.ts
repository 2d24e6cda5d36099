import { beforeEach, describe, expect, it } from "vitest";
import { EXPLORE_POOLS, exploreSample, followeesRecent, forgetCandidateLists } from "../../origin/candidate-lists.ts";
import type { Db } from "../../origin/db.ts";

// The origin's candidate lists cached per source in the isolate (issue 13): what reaches Postgres on a
// feed miss. A Db over an in-memory catalogue (our own interface) records every query.

const videos = Array.from({ length: 600 }, (_, i) => ({ id: String(i + 1), author: String(1 + (i % 6)), at: 1_000_000 + i * 1000 }));

function memoryDb() {
  const queries: { sql: string; params: unknown[] }[] = [];
  const db: Db = {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      queries.push({ sql, params });
      if (sql.includes("CROSS JOIN LATERAL")) {
        const authors = params[0] as string[];
        const perAuthor = Number(/LIMIT (\d+)\) v/.exec(sql)![1]);
        return authors.flatMap((a) =>
          videos.filter((v) => v.author === a).sort((x, y) => y.at - x.at).slice(0, perAuthor).map((v) => ({ a, v: v.id, t: v.at })),
        ) as T[];
      }
      if (sql.includes("TABLESAMPLE")) {
        const [, size, pool] = params as [number, number, number];
        // A deterministic "sample" per pool number, like REPEATABLE(pool) on an unchanged table.
        return videos.filter((v) => (Number(v.id) * 7 + pool) % 5 === 0).slice(0, size).map((v) => ({ video_id: v.id })) as T[];
      }
      throw new Error(`unexpected query: ${sql}`);
    },
    probe: async () => {},
    end: async () => {},
  };
  return { db, queries };
}

beforeEach(() => forgetCandidateLists());

describe("followees' recent videos", () => {
  it("the newest `limit` across the followed authors, newest first", async () => {
    const { db } = memoryDb();
    const got = await followeesRecent(db, "us", ["2", "5"], 30);
    const want = videos.filter((v) => v.author === "2" || v.author === "5").sort((x, y) => y.at - x.at).slice(0, 30).map((v) => v.id);
    expect(got).toEqual(want);
  });

  it("reads only the authors no earlier request cached, all in one query; per region", async () => {
    const { db, queries } = memoryDb();
    await followeesRecent(db, "us", ["1", "2", "3"], 40);
    expect(queries).toHaveLength(1);
    expect(queries[0].params[0]).toEqual(["1", "2", "3"]);
    await followeesRecent(db, "us", ["2", "3", "4", "4"], 40);
    expect(queries).toHaveLength(2);
    expect(queries[1].params[0]).toEqual(["4"]);
    await followeesRecent(db, "us", ["1", "4"], 40);
    expect(queries).toHaveLength(2); // all cached: no query at all
    await followeesRecent(db, "eu", ["1"], 40);
    expect(queries).toHaveLength(3);
  });

  it("no followees or no room: no query", async () => {
    const { db, queries } = memoryDb();
    expect(await followeesRecent(db, "us", [], 10)).toEqual([]);
    expect(await followeesRecent(db, "us", ["1"], 0)).toEqual([]);
    expect(queries).toHaveLength(0);
  });
});

describe("explore samples", () => {
  it("the same seed draws the same sample, in a fresh isolate too; other seeds draw other samples", async () => {
    const { db } = memoryDb();
    const a = await exploreSample(db, "us", 20, 12345);
    expect(a).toHaveLength(20);
    expect(new Set(a).size).toBe(20);
    forgetCandidateLists(); // another isolate: the pool is drawn again (REPEATABLE), the pick is the same
    expect(await exploreSample(memoryDb().db, "us", 20, 12345)).toEqual(a);
    expect(await exploreSample(db, "us", 20, 12345 + EXPLORE_POOLS)).not.toEqual(a); // same pool, another pick
    expect(await exploreSample(db, "us", 20, 12346)).not.toEqual(a);
  });

  it("one query per pool while it is cached: misses of chains with seeds in the same pool read nothing", async () => {
    const { db, queries } = memoryDb();
    for (let k = 0; k < 5; k++) await exploreSample(db, "us", 20, 3 + k * EXPLORE_POOLS);
    expect(queries).toHaveLength(1);
    expect(queries[0].params).toEqual([90, 60, 3]); // ~1.5× the pool's rows sampled, pool of 3 × limit, REPEATABLE(pool)
    await exploreSample(db, "us", 20, 4);
    expect(queries).toHaveLength(2);
  });
});
