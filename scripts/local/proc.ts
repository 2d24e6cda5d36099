import { readFileSync, readdirSync } from "node:fs";

// Process facts from /proc (no pgrep/ps dependency), for the local servers we start and stop ourselves.

/** Fields of /proc/<pid>/stat after "(comm)" — comm may itself contain spaces or parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null; // gone (or vanished while reading)
  }
}

/**
 * True while `pid` exists and is not a zombie. A zombie counts as gone: it holds no resources, and a
 * container's PID 1 may never reap the orphans it inherits (e.g. Postgres backends after a SIGKILLed
 * postmaster). EPERM (someone else's process) counts as alive.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const f = statFields(pid);
  return f !== null && f[0] !== "Z";
}

/** Direct children of `pid` (field 4 of /proc/<n>/stat is the parent pid). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === pid) out.push(Number(name));
  }
  return out;
}

/** Poll until every pid is gone (see isAlive); false if some are still alive after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pids.some(isAlive)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
