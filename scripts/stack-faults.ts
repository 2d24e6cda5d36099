import type { Region } from "../shared/local-ports.ts";
import type { Managed, Supervisor } from "./local/supervisor.ts";

// Real faults for chaos and degradation tests: stop/start or pause/resume the actual processes of the
// local stack (Redis, Postgres, the ranking service, a region's origin worker). No mocks: a stopped Redis
// refuses connections, a paused Postgres hangs, a stopped origin is gone from the network, a killed
// Postgres (SIGKILL to postmaster and backends: a crash) comes back through crash recovery on "start".
export type FaultAction = "stop" | "start" | "pause" | "resume" | "kill";
export interface Faults {
  /**
   * `vars` (origin "start" only): worker vars the origin runs with from now on, over the stack's (e.g. the
   * chaos suite's production RANK_TIMEOUT_MS); later starts of that origin keep them, as a redeployed
   * worker keeps its config. Throws on a bad combination.
   */
  apply(target: "redis" | "postgres" | "ranking" | "origin", action: FaultAction, region?: Region, vars?: Record<string, string>): Promise<void>;
  /** Stops what faults restarted (the stack's own closers know only the originals). */
  stopRestarted(): Promise<void>;
}

/** SIGSTOP/SIGCONT a whole process group (wrangler's workerd is a grandchild). */
function signalGroup(m: Managed | null | undefined, sig: NodeJS.Signals): void {
  if (!m?.child.pid) return;
  try {
    process.kill(-m.child.pid, sig);
  } catch {
    m.child.kill(sig);
  }
}

interface Pausable {
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
}
interface Killable extends Pausable {
  kill(): Promise<void>;
}

export function createFaults(deps: {
  sup: Supervisor;
  redis: Record<Region, Pausable & { restart(): Promise<void> }>;
  origins: Record<Region, Managed>;
  postgres: { current: Killable; restart(): Promise<Killable> };
  ranking: { current: Managed; restart(): Promise<Managed> };
  startOrigin(r: Region, vars?: Record<string, string>): Promise<Managed>;
}): Faults {
  let pg: Killable | null = deps.postgres.current;
  let pgRestarted = false;
  let ranking: Managed | null = deps.ranking.current;
  const origins: Partial<Record<Region, Managed | null>> = { ...deps.origins };
  const originVars: Partial<Record<Region, Record<string, string>>> = {};
  const need = (r: Region | undefined): Region => {
    if (!r) throw new Error("region required");
    return r;
  };
  return {
    async apply(target, action, region, vars) {
      if (action === "kill" && target !== "postgres") throw new Error("kill: postgres only");
      if (vars && (target !== "origin" || action !== "start")) throw new Error("vars: origin start only");
      if (target === "redis") {
        const r = deps.redis[need(region)];
        if (action === "stop") await r.stop();
        else if (action === "start") await r.restart();
        else if (action === "pause") r.pause();
        else r.resume();
      } else if (target === "postgres") {
        if (action === "stop" || action === "kill") {
          await (action === "stop" ? pg?.stop() : pg?.kill());
          pg = null;
        } else if (action === "start") {
          if (!pg) {
            pg = await deps.postgres.restart();
            pgRestarted = true;
          }
        } else if (action === "pause") pg?.pause();
        else pg?.resume();
      } else if (target === "ranking") {
        if (action === "stop" && ranking) {
          await deps.sup.stop(ranking);
          ranking = null;
        } else if (action === "start" && !ranking) ranking = await deps.ranking.restart();
        else if (action === "pause") signalGroup(ranking, "SIGSTOP");
        else if (action === "resume") signalGroup(ranking, "SIGCONT");
      } else {
        const r = need(region);
        const m = origins[r];
        if (action === "stop" && m) {
          await deps.sup.stop(m);
          origins[r] = null;
        } else if (action === "start") {
          if (m && vars) throw new Error(`origin ${r} is running: stop it before starting it with other vars`);
          if (vars) originVars[r] = { ...originVars[r], ...vars };
          if (!m) origins[r] = await deps.startOrigin(r, originVars[r]);
        }
        else if (action === "pause") signalGroup(m, "SIGSTOP");
        else if (action === "resume") signalGroup(m, "SIGCONT");
      }
    },
    async stopRestarted() {
      if (pgRestarted) await pg?.stop();
    },
  };
}
