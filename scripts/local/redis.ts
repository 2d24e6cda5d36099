import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";

// Local redis-server instances for the stack and for chaos tests. Each instance is our own child process
// (never a system service) so tests can stop, pause and restart it without touching anything else.

const SEARCH_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin"];
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3_000;
const LOG_TAIL_LINES = 40;

function findRedisServer(): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** Runs a command, streaming the interesting lines so a first-time install does not look hung. */
function runApt(args: string[]): Promise<{ code: number; tail: string }> {
  return new Promise((resolve) => {
    const child = spawn("apt-get", args, {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > LOG_TAIL_LINES) tail.shift();
        if (/^(Get:|Unpacking|Setting up|E:)/.test(line)) console.log(`      apt: ${line}`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (err) => resolve({ code: -1, tail: String(err) }));
    child.on("close", (code) => resolve({ code: code ?? -1, tail: tail.join("\n") }));
  });
}

export async function ensureRedisInstalled(): Promise<string> {
  const found = findRedisServer();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error("redis-server is not installed. Install it with: sudo apt-get install -y redis-server");
  }
  console.log("      redis-server not found; installing it with apt-get (one-time)…");
  let res = await runApt(["install", "-y", "redis-server"]);
  if (res.code !== 0) {
    // A fresh image often has empty package lists; refresh once, only when actually needed.
    console.log("      apt-get install failed; running apt-get update and retrying…");
    await runApt(["update"]);
    res = await runApt(["install", "-y", "redis-server"]);
  }
  const installed = findRedisServer();
  if (res.code !== 0 || !installed) {
    throw new Error(`apt-get install -y redis-server failed (exit ${res.code}):\n${res.tail}`);
  }
  console.log(`      installed ${installed}`);
  return installed;
}

/** Sends PING over a raw socket; true only on +PONG. Raw TCP keeps this free of client retry logic. */
function ping(port: number, timeoutMs = 500): Promise<{ ok: boolean; listening: boolean }> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    let listening = false;
    let buf = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok, listening });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on("connect", () => {
      listening = true;
      sock.write("PING\r\n");
    });
    sock.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("\r\n")) done(buf.startsWith("+PONG"));
    });
    sock.on("error", () => done(false));
    sock.on("close", () => done(false));
  });
}

export interface RedisHandle {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
  restart(): Promise<void>;
}

export async function startRedis(opts: { port: number; dir: string; name: string }): Promise<RedisHandle> {
  const bin = await ensureRedisInstalled();
  mkdirSync(opts.dir, { recursive: true });

  const existing = await ping(opts.port);
  if (existing.listening) {
    throw new Error(
      `${opts.name}: port ${opts.port} is already in use` +
        (existing.ok ? " by a redis-server (probably left over from a crashed run)" : "") +
        `. Find it with \`ss -ltnp 'sport = :${opts.port}'\` and kill it, or choose another port.`,
    );
  }

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let logTail: string[] = [];

  const spawnOnce = async (): Promise<void> => {
    logTail = [];
    const proc = spawn(
      bin,
      [
        "--port", String(opts.port), "--bind", "127.0.0.1", "--dir", opts.dir,
        // A cache: no persistence, so a restart is a cold cache (what the chaos tests want).
        "--save", "", "--appendonly", "no",
        "--daemonize", "no", "--protected-mode", "no", "--logfile", "",
      ],
      // Own process group: a terminal's Ctrl-C reaches `npm start` only, which stops Redis itself after
      // the local queue's drain (scripts/local/queue-drain.ts), as the supervisor's children.
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        logTail.push(line);
        if (logTail.length > LOG_TAIL_LINES) logTail.shift();
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    let hasExited = false;
    let exitInfo = "";
    exited = new Promise<void>((resolve) => {
      proc.on("exit", (code, signal) => {
        hasExited = true;
        exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        resolve();
      });
      proc.on("error", (err) => {
        hasExited = true;
        exitInfo = String(err);
        resolve();
      });
    });
    child = proc;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (hasExited) break;
      if ((await ping(opts.port)).ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!hasExited) proc.kill("SIGKILL");
    child = null;
    throw new Error(
      `${opts.name}: redis-server on :${opts.port} ${hasExited ? `exited (${exitInfo})` : "did not answer PING in time"}` +
        `\n--- log tail ---\n${logTail.join("\n")}`,
    );
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      child = null;
      return;
    }
    proc.kill("SIGTERM");
    // A paused (SIGSTOPped) redis cannot act on SIGTERM until it is continued.
    proc.kill("SIGCONT");
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    child = null;
  };

  const signal = (sig: NodeJS.Signals) => {
    if (!child) throw new Error(`${opts.name} is not running`);
    child.kill(sig);
  };

  await spawnOnce();
  return {
    get pid() {
      return child?.pid ?? -1;
    },
    port: opts.port,
    stop,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    restart: async () => {
      await stop();
      await spawnOnce();
    },
  };
}
