import { realpathSync } from "node:fs";
import { join } from "node:path";
import { LOCAL_PG, regionDatabase } from "../../shared/local-ports.ts";
import { REGION_VALUES, type Region } from "../../shared/regions.ts";
import { tick, type BackupContext } from "./jobs.ts";

// The backup scheduler as a loop inside another process (`npm start` runs it with the stack; `npm run
// backup -- --scheduled` is the same tick in a process of its own, for a VM's crontab or the k8s
// CronJob). Every `intervalMs` (default 60 s, the granularity of the shortest schedule: video metadata
// hourly) one tick runs the due jobs of scripts/backup/kinds.ts and applies retention
// (scripts/backup/jobs.ts). Ticks never overlap: the next one is armed when the previous one ended.
// The first tick waits `firstAfterMs` (default one interval), so a start is not slowed by a first full
// round of snapshots. A failed job is logged by tick() and retried at the next tick; stop() ends the
// loop (a tick in flight finishes or fails on its own, and a half-written backup never counts:
// jobs write into `<dir>.tmp` and rename).

export interface SchedulerOptions {
  intervalMs?: number;
  firstAfterMs?: number;
  /** One line per tick that ran or pruned something. */
  onTick?(r: { ran: string[]; failed: string[]; pruned: string[]; ms: number }): void;
  now?(): number;
}

export function startBackupScheduler(ctx: BackupContext, opts: SchedulerOptions = {}): { stop(): void; running(): boolean } {
  const interval = opts.intervalMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let inFlight = false;
  const run = async () => {
    inFlight = true;
    const t0 = Date.now();
    try {
      const r = await tick(ctx, now());
      if (r.ran.length || r.failed.length || r.pruned.length) opts.onTick?.({ ...r, ms: Date.now() - t0 });
    } catch (e) {
      ctx.log(`backup scheduler: tick failed: ${(e as Error).message}`);
    } finally {
      inFlight = false;
      if (!stopped) timer = setTimeout(run, interval);
    }
  };
  timer = setTimeout(run, opts.firstAfterMs ?? interval);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    running: () => inFlight,
  };
}

/** The backup context of a local stack: its Postgres, data dir and edge (what `npm run backup` defaults to). */
export function localBackupContext(s: { dataDir: string; pgPort: number; edgeUrl: string; adminToken: string }, log: (l: string) => void): BackupContext {
  const url = (db: string) => `postgres://${LOCAL_PG.user}:${LOCAL_PG.password}@127.0.0.1:${s.pgPort}/${db}`;
  const pgData = join(s.dataDir, "pg");
  let dataDir: string | null = null;
  try {
    dataDir = realpathSync(pgData);
  } catch {
    /* no local cluster: base backups are skipped */
  }
  return {
    root: join(s.dataDir, "backups"), regions: REGION_VALUES, regionUrl: (r: Region) => url(regionDatabase(r)), adminUrl: url("postgres"), dataDir,
    edge: { baseUrl: s.edgeUrl, token: s.adminToken, timeoutMs: 3000 }, log,
  };
}
