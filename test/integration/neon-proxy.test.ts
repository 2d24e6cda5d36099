import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { freePort } from "../../scripts/local/free-port.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool, neonConfig } from "@neondatabase/serverless";
import EmbeddedPostgres from "../../scripts/local/embedded-postgres.ts";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNeonProxy } from "../../scripts/local/neon-ws-proxy.ts";
import { configureNeonForLocalProxy } from "../../shared/db/neon-local.ts";

// The real Neon driver, through our WebSocket→TCP proxy, against a real Postgres: the same path the origin
// Workers take in local mode. Postgres is started here directly (not via scripts/local/postgres.ts) so
// this test only depends on the proxy under test.


let dir: string;
let pgPort: number;
let pgServer: EmbeddedPostgres;
let proxy: Awaited<ReturnType<typeof startNeonProxy>>;
let pool: Pool;
let pgStarted = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "neon-proxy-"));
  chmodSync(dir, 0o755); // as root, Postgres runs as user "postgres", which must be able to enter it
  pgPort = await freePort();
  pgServer = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port: pgPort,
    user: "postgres",
    password: "postgres",
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: true,
    // TCP only: a root-owned temp dir is not writable for the "postgres" user's socket lock file.
    postgresFlags: ["-c", "unix_socket_directories=", "-c", "fsync=off"],
    onLog: () => {},
    onError: () => {},
  });
  await pgServer.initialise();
  await pgServer.start();
  pgStarted = true;

  proxy = await startNeonProxy({ port: 0 });
  neonConfig.webSocketConstructor = WebSocket;
  configureNeonForLocalProxy(neonConfig, `127.0.0.1:${proxy.port}`);
  pool = new Pool({ connectionString: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`, max: 10 });
  pool.on("error", () => {});
});

afterAll(async () => {
  await pool?.end().catch(() => {});
  await proxy?.close();
  // stop() waits for a process that never existed if start failed, so only stop what started.
  if (pgStarted) await pgServer.stop().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("neon ws proxy with the real @neondatabase/serverless driver", () => {
  it("runs SELECT 1", async () => {
    const res = await pool.query("SELECT 1 AS one");
    expect(res.rows).toEqual([{ one: 1 }]);
  });

  it("runs parameterized queries", async () => {
    const res = await pool.query("SELECT $1::int + $2::int AS sum, $3::text AS t, $4::bytea AS b", [
      2, 40, "héllo ✓", Buffer.from([0, 1, 254, 255]),
    ]);
    expect(res.rows[0].sum).toBe(42);
    expect(res.rows[0].t).toBe("héllo ✓");
    expect(Buffer.from(res.rows[0].b).equals(Buffer.from([0, 1, 254, 255]))).toBe(true);
  });

  it("runs transactions (rollback and commit)", async () => {
    await pool.query("CREATE TABLE IF NOT EXISTS tx_test (id int primary key, v text)");
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("INSERT INTO tx_test VALUES (1, 'rolled back')");
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      await client.query("INSERT INTO tx_test VALUES (2, 'kept')");
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const res = await pool.query("SELECT id, v FROM tx_test ORDER BY id");
    expect(res.rows).toEqual([{ id: 2, v: "kept" }]);
  });

  it("surfaces query errors with the Postgres code, and the pool keeps working", async () => {
    await expect(pool.query("SELECT * FROM no_such_table")).rejects.toMatchObject({ code: "42P01" });
    await expect(pool.query("SELECT 1/0")).rejects.toMatchObject({ code: "22012" });
    expect((await pool.query("SELECT 2 AS two")).rows[0].two).toBe(2);
  });

  it("serves 20 concurrent queries", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.query("SELECT $1::int AS n, pg_sleep(0.05)", [i])),
    );
    expect(results.map((r) => r.rows[0].n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("streams a large result intact", async () => {
    const res = await pool.query("SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, 50000) g");
    expect(res.rows.length).toBe(50000);
    expect(res.rows[49999].n).toBe(50000);
  });

  it("refuses non-loopback and malformed targets", async () => {
    const status = (address: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/v1?address=${address}`);
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.on("open", () => {
          ws.terminate();
          resolve(101);
        });
        ws.on("error", () => {});
      });
    expect(await status("10.1.2.3:5432")).toBe(403);
    expect(await status("example.com:5432")).toBe(403);
    expect(await status("nonsense")).toBe(400);
    expect(await status(`localhost:${pgPort}`)).toBe(101);

    const remote = new Pool({ connectionString: "postgres://postgres:postgres@10.1.2.3:5432/postgres", connectionTimeoutMillis: 3000 });
    remote.on("error", () => {});
    await expect(remote.query("SELECT 1")).rejects.toBeTruthy();
    await remote.end().catch(() => {});
  });
});
