import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

// Locates a system Chromium for the browser tests (playwright-core ships no browser, and this machine
// cannot download Playwright's own builds). Debian's `chromium` package is the one source we can reach,
// so when it is missing and we are root we install it; otherwise we say exactly what to run.
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const INSTALL_CMD = "apt-get install -y chromium";

function found(): string | null {
  const fromEnv = process.env.FYP_CHROMIUM;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

function apt(args: string[]): boolean {
  const r = spawnSync("apt-get", args, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeout: 10 * 60_000,
  });
  return r.status === 0;
}

let pending: Promise<string> | null = null;

/** Path of a Chromium executable, installing Debian's package once if needed (root only). */
export function ensureChromium(): Promise<string> {
  pending ??= (async () => {
    const have = found();
    if (have) return have;
    if (process.getuid?.() !== 0) throw new Error(`Chromium not found; install it with: sudo ${INSTALL_CMD}`);
    // Try without `apt-get update` first: a fresh package list costs time and is often not needed.
    if (!apt(["install", "-y", "chromium"])) {
      if (!apt(["update"]) || !apt(["install", "-y", "chromium"])) {
        throw new Error(`installing Chromium failed; run: apt-get update && ${INSTALL_CMD}`);
      }
    }
    const after = found();
    if (!after) throw new Error(`\`${INSTALL_CMD}\` succeeded but no chromium binary was found in ${CANDIDATES.join(", ")}`);
    return after;
  })();
  pending.catch(() => { pending = null; });
  return pending;
}
