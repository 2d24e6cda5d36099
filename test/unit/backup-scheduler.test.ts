import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localBackupContext, startBackupScheduler } from "../../scripts/backup/scheduler.ts";
import { configExports } from "../../scripts/backup/store.ts";

// The scheduler loop `npm start` runs with the stack (scripts/start.ts): the first tick after the
// configured wait, then one every interval, never two at once, none after stop(). The due job here is
// the config export (the edge's admin API answered by an injected fetch: the only job that needs no
// database); the snapshot jobs' schedules and retention are tested in backup-retention.test.ts and
// against a real Postgres in test/integration/backup.test.ts.
const dir = mkdtempSync(join(tmpdir(), "fyp-backup-sched-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(10)) if (Date.now() > end) throw new Error("timed out");
}

describe("backup scheduler loop", () => {
  it("runs due jobs on its ticks, one tick at a time, and stops", async () => {
    let version = 1;
    let calls = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const fetchHistory = async () => {
      calls++;
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await sleep(30); // slower than the interval: ticks must not overlap
      concurrent--;
      return new Response(JSON.stringify({ versions: [{ version, at: new Date().toISOString(), config: { forced_levels: {}, health_timings: null } }] }));
    };
    const ctx = { ...localBackupContext({ dataDir: join(dir, "no-such-stack"), pgPort: 1, edgeUrl: "http://edge.invalid", adminToken: "t" }, () => {}), regions: [] };
    ctx.edge = { ...ctx.edge!, fetch: fetchHistory };
    expect(ctx.dataDir).toBeNull(); // no local cluster: no base backups
    expect(ctx.root).toBe(join(dir, "no-such-stack", "backups"));
    const ticks: string[][] = [];
    // The clock the schedules see: an hour further at every tick, so the hourly config export is due each time.
    let fakeNow = Date.UTC(2026, 10, 1);
    const s = startBackupScheduler(ctx, { intervalMs: 10, firstAfterMs: 20, now: () => (fakeNow += 3_600_000), onTick: (r) => ticks.push(r.ran) });
    expect(calls).toBe(0); // nothing before the first wait
    await until(() => ticks.length >= 1);
    version = 2;
    await until(() => configExports(ctx.root).length >= 2);
    const n = calls;
    await until(() => calls >= n + 2); // more ticks: an unchanged history is not exported again
    s.stop();
    const after = calls;
    await sleep(100);
    expect(calls - after).toBeLessThanOrEqual(1); // at most the tick that was in flight
    expect(maxConcurrent).toBe(1);
    expect(ticks[0]).toEqual(["config-export"]);
    // Exported once per new newest version (an unchanged history is not exported again).
    expect(configExports(ctx.root).length).toBe(2);
    expect(existsSync(ctx.root)).toBe(true);
  });
});
