import { readlinkSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { startPostgres, type LocalPostgres } from "../../scripts/local/postgres.ts";

// Run by test/integration/postgres-clone-location.test.ts from a copy of the repo in a private (0700)
// directory, so the stack's own startPostgres runs with this file's clone root, as `npm start` would.
//   hold <port>:  start the stack's Postgres, commit a row, print one JSON line, then wait to be killed
//                 (its SIGKILL leaves the postmaster orphaned, as a crashed `npm start` does).
//   crash <port>: start again (the orphan is cleaned up), commit a row, SIGKILL the server, start on
//                 the same data dir (stale postmaster.pid, crash recovery), read the rows, stop; print JSON.
const [mode, portArg] = process.argv.slice(2);
const port = Number(portArg);
const dataDir = join(process.cwd(), ".local", "test", "pg");
const logs: string[] = [];
const start = () => startPostgres({ dataDir, port, log: (l) => logs.push(l) });

async function sql<T extends pg.QueryResultRow>(s: LocalPostgres, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: s.url("postgres"), connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

async function facts(s: LocalPostgres) {
  const settings = await sql<{ name: string; setting: string }>(s, "SELECT name, setting FROM pg_settings WHERE name = ANY($1)", [["fsync", "synchronous_commit", "full_page_writes"]]);
  return {
    pid: s.pid,
    dataDir: s.dataDir,
    exe: readlinkSync(`/proc/${s.pid}/exe`),
    settings: Object.fromEntries(settings.map((r) => [r.name, r.setting])),
  };
}

const commit = (s: LocalPostgres, k: string) =>
  sql(s, "CREATE TABLE IF NOT EXISTS acked (k text PRIMARY KEY)").then(() => sql(s, "INSERT INTO acked VALUES ($1)", [k]));
const keys = async (s: LocalPostgres) => (await sql<{ k: string }>(s, "SELECT k FROM acked ORDER BY k")).map((r) => r.k);

if (mode === "hold") {
  const s = await start();
  await commit(s, "a-before-orphan");
  console.log(JSON.stringify(await facts(s)));
  setInterval(() => {}, 60_000);
} else if (mode === "crash") {
  let s = await start();
  const first = await facts(s);
  await commit(s, "b-before-kill");
  await s.kill();
  s = await start();
  const second = await facts(s);
  const rows = await keys(s);
  await s.stop();
  console.log(JSON.stringify({ first, second, rows, logs }));
} else {
  throw new Error(`usage: pg-clone-driver.ts hold|crash <port>`);
}
