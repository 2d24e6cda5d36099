import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname } from "node:path";

// Starts long-running children in their own process groups (wrangler forks workerd; killing the group
// takes both), logs each to a file, and stops exactly the processes it started — nothing else.

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

export class Supervisor {
  private readonly children: Managed[] = [];
  private stopping = false;
  onUnexpectedExit: (m: Managed, code: number | null) => void = () => {};

  start(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string }): Managed {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    const log = createWriteStream(opts.logFile, { flags: "a" });
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group → kill(-pid) reaches its grandchildren too
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const m: Managed = { name, child, logFile: opts.logFile, exited };
    exited.then((code) => {
      if (!this.stopping && !m.child.killed) this.onUnexpectedExit(m, code);
    });
    this.children.push(m);
    return m;
  }

  get(name: string): Managed | undefined {
    return this.children.find((c) => c.name === name && c.child.exitCode === null && c.child.signalCode === null);
  }

  /** Stop one child (and its process group); SIGKILL after graceMs. */
  async stop(m: Managed, graceMs = 5000): Promise<void> {
    if (m.child.exitCode !== null || m.child.signalCode !== null) return;
    const pid = m.child.pid!;
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        try {
          process.kill(pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    kill("SIGCONT"); // a paused (SIGSTOP) child cannot handle SIGTERM
    kill("SIGTERM");
    const timer = setTimeout(() => kill("SIGKILL"), graceMs);
    await m.exited;
    clearTimeout(timer);
    kill("SIGKILL"); // reap stragglers left in the group
    const i = this.children.indexOf(m);
    if (i >= 0) this.children.splice(i, 1);
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.children].reverse().map((m) => this.stop(m)));
  }
}

export async function waitForHttp(url: string, opts: { timeoutMs: number; what: string; ok?: (r: Response) => boolean; exited?: Promise<unknown> }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let dead = false;
  opts.exited?.then(() => (dead = true));
  let last = "";
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${opts.what} exited while starting`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (opts.ok ? opts.ok(r) : r.ok) {
        await r.body?.cancel();
        return;
      }
      last = `status ${r.status}`;
      await r.body?.cancel();
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${opts.what} did not become ready at ${url} within ${opts.timeoutMs} ms (${last})`);
}
