import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { freePort } from "../../scripts/local/free-port.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type LocalPostgres } from "../../scripts/local/postgres.ts";
import { partitionOf, partitionTable, shardOf } from "../../shared/db/shard-router.ts";
import { partitionTableName } from "../../shared/db/schema.ts";

// The app's shard router must agree with Postgres on where every users row lives. Real server, real
// `PARTITION BY HASH`, thousands of ids across the whole bigint range (small, > 2^31, > 2^53, negative).


// Deterministic ids so a failure reproduces: xorshift64* over BigInt.
function* randomBigints(seed: bigint): Generator<bigint> {
  let x = seed;
  for (;;) {
    x ^= x >> 12n;
    x ^= BigInt.asUintN(64, x << 25n);
    x ^= x >> 27n;
    yield BigInt.asIntN(64, BigInt.asUintN(64, x * 0x2545f4914f6cdd1dn));
  }
}

function testIds(): bigint[] {
  const ids = new Set<bigint>();
  const edges = [0n, 1n, -1n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 32n - 1n, 2n ** 32n,
    -(2n ** 32n), 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
  for (const e of edges) ids.add(e);
  for (let i = 1n; i <= 2000n; i++) ids.add(i); // the seed's dense id range
  const r = randomBigints(0x9e3779b97f4a7c15n);
  const next = () => r.next().value as bigint;
  for (let i = 0; i < 1000; i++) ids.add(BigInt.asUintN(31, next())); // positive int4
  for (let i = 0; i < 1000; i++) ids.add((1n << 31n) + BigInt.asUintN(21, next()) * 1000n + BigInt.asUintN(8, next())); // > 2^31
  for (let i = 0; i < 1000; i++) ids.add(next()); // anywhere in int64, about half negative
  for (let i = 0; i < 500; i++) ids.add(-BigInt.asUintN(31, next()) - 1n); // negative int4
  for (let i = 0; i < 500; i++) ids.add((1n << 53n) + BigInt.asUintN(40, next())); // beyond Number.MAX_SAFE_INTEGER
  return [...ids];
}

let dir: string;
let server: LocalPostgres;
let client: pg.Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fyp-shard-"));
  chmodSync(dir, 0o755); // as root, Postgres runs as user "postgres", which must be able to enter it
  server = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort() });
  client = new pg.Client({ connectionString: server.url("fyp_us") });
  await client.connect();
});

afterAll(async () => {
  await client?.end().catch(() => {});
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("shard router vs Postgres hash partitioning", () => {
  it("predicts tableoid for every inserted user id", async () => {
    const ids = testIds();
    expect(ids.length).toBeGreaterThanOrEqual(5000);
    // One statement, ids as a text[] → bigint[]: fast and exact for values beyond 2^53.
    await client.query(
      `INSERT INTO users (user_id, handle, home_region, embedding)
       SELECT id, 'h' || id, 'us', '{}' FROM unnest($1::bigint[]) AS id`,
      [ids.map(String)],
    );
    const res = await client.query<{ id: string; t: string }>("SELECT user_id::text AS id, tableoid::regclass::text AS t FROM users");
    expect(res.rowCount).toBe(ids.length);
    const wrong: string[] = [];
    const seen = new Set<number>();
    for (const row of res.rows) {
      const predicted = partitionTable(BigInt(row.id));
      if (predicted !== row.t) wrong.push(`${row.id}: postgres ${row.t}, router ${predicted}`);
      const p = partitionOf(row.id);
      seen.add(p);
      expect(shardOf(row.id)).toBe(Math.floor(p / 8));
      expect(row.t.startsWith(`shard_${shardOf(row.id)}.`)).toBe(true);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(seen.size).toBe(64); // every partition is reachable
  });

  it("agrees with Postgres' own partition check (satisfies_hash_partition) for a fresh id set", async () => {
    // Independent of inserts: ask Postgres which remainder each id satisfies, for the router's answer.
    const r = randomBigints(12345n);
    const ids = Array.from({ length: 2000 }, () => (r.next().value as bigint).toString());
    const parts = ids.map((id) => partitionOf(id));
    const res = await client.query<{ ok: boolean }>(
      `SELECT satisfies_hash_partition('users'::regclass, 64, p, id) AS ok
       FROM unnest($1::bigint[], $2::int[]) AS t(id, p)`,
      [ids, parts],
    );
    expect(res.rows.every((x) => x.ok)).toBe(true);
  });

  it("gives the same answer for number, string and bigint inputs", () => {
    for (const n of [0, 1, -1, 42, 2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      expect(partitionOf(n)).toBe(partitionOf(BigInt(n)));
      expect(partitionOf(String(n))).toBe(partitionOf(BigInt(n)));
    }
    expect(partitionTable(1)).toBe(partitionTableName(partitionOf(1)));
  });

  it("rejects ids that are not int64", () => {
    expect(() => partitionOf(1.5)).toThrow(RangeError);
    expect(() => partitionOf(2 ** 60)).toThrow(RangeError); // unsafe number: would silently lose bits
    expect(() => partitionOf("12a")).toThrow(RangeError);
    expect(() => partitionOf(2n ** 63n)).toThrow(RangeError);
  });
});
