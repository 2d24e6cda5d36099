import { readdirSync, readFileSync } from "node:fs";

// Resident memory of a process and everything it started (wrangler dev → workerd; the supervisor's
// children), from /proc (Linux): VmRSS of each process in the tree, summed. Used by the bench's memory
// rows (issue 13).

function ppidOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces, so split after the last ')'.
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/** VmRSS of one process in bytes (0 when it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** `pid` and all its descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const pp = ppidOf(Number(d));
    if (pp !== null) children.set(pp, [...(children.get(pp) ?? []), Number(d)]);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Summed VmRSS (bytes) of `pid`'s process tree. */
export const treeRssBytes = (pid: number): number => processTree(pid).reduce((s, p) => s + rssBytes(p), 0);

const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
};

/** Summed VmRSS (bytes) of `pid`'s process tree per executable name (node, workerd, …). */
export function treeRssByName(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of processTree(pid)) out[comm(p)] = (out[comm(p)] ?? 0) + rssBytes(p);
  return out;
}

/**
 * Samples the tree RSS of each named pid every `everyMs` until stopped; reports peak and last (bytes)
 * for the whole tree ("<name>") and per executable in it ("<name> · workerd", "<name> · node").
 */
export function sampleRss(pids: Record<string, number>, everyMs = 1000): { stop(): Record<string, { peak: number; last: number }> } {
  const stats: Record<string, { peak: number; last: number }> = {};
  const note = (key: string, v: number) => {
    const s = (stats[key] ??= { peak: 0, last: 0 });
    s.last = v;
    s.peak = Math.max(s.peak, v);
  };
  const take = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const by = treeRssByName(pid);
      note(name, Object.values(by).reduce((a, b) => a + b, 0));
      if (Object.keys(by).length > 1) for (const [exe, v] of Object.entries(by)) note(`${name} · ${exe}`, v);
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return stats;
    },
  };
}

/** CPU seconds (user + system) used so far by `pid` and its descendants (Linux /proc; USER_HZ = 100). */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* exited */
    }
  }
  return ticks / 100;
}
