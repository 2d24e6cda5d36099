import { parseArgs } from "node:util";
import pg from "pg";
import { mintSessionToken } from "../shared/auth.ts";
import { LOCAL_PG, regionDatabase } from "../shared/local-ports.ts";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { localBackupContext, startBackupScheduler } from "./backup/scheduler.ts";
import { startStack } from "./stack.ts";
import { describeWaiting, forcedAtEdge, READY_TIMEOUT_MS, waitForLevel0 } from "./local/ready-gate.ts";
import { drainQueue, dropLine } from "./local/queue-drain.ts";

// `npm start [-- --users N --videos N] [--no-backups]`: the whole local stack in the foreground, with the
// backup scheduler (scripts/backup/scheduler.ts; off with --no-backups or FYP_BACKUPS=off); Ctrl-C
// stops it.
const { values } = parseArgs({
  options: {
    users: { type: "string", default: process.env.FYP_USERS ?? "10000" },
    videos: { type: "string", default: process.env.FYP_VIDEOS ?? "100000" },
    seed: { type: "string", default: "42" },
    "no-backups": { type: "boolean", default: process.env.FYP_BACKUPS === "off" },
  },
});

const t0 = Date.now();
let stopping = false;
const stack = await startStack({
  profile: "dev",
  users: Number(values.users),
  videos: Number(values.videos),
  seed: Number(values.seed),
}).catch((e: Error) => {
  console.error(`fyp-edge: start failed: ${e.message}`);
  process.exit(1);
});

stack.supervisor.onUnexpectedExit = (m, code) => {
  if (!stopping) console.error(`fyp-edge: ${m.name} exited unexpectedly (code ${code}); see ${m.logFile}`);
};

// A real resident of us for the example request (users live only in their home region's database).
const c = new pg.Client({ host: "127.0.0.1", port: stack.ports.postgres, database: regionDatabase("us"), ...LOCAL_PG });
await c.connect();
const sample = (await c.query("SELECT user_id FROM users ORDER BY user_id LIMIT 1")).rows[0]?.user_id ?? 1;
await c.end();
const token = await mintSessionToken(stack.secrets.SESSION_SECRET, `u${sample}`, "us");
// Ready = every origin at degradation level 0 under the production thresholds (scripts/local/ready-gate.ts).
console.log(`[ready] waiting for every origin at level 0 (up to ${READY_TIMEOUT_MS / 1000} s) …`);
const gate = await waitForLevel0(stack.originUrl, stack.secrets.INTERNAL_SECRET, { log: (l) => console.log(l) });
console.log(`\nstarted in ${((Date.now() - t0) / 1000).toFixed(1)} s (${(gate.waitedMs / 1000).toFixed(1)} s of it waiting for level 0). Try:`);
console.log(`  curl -s '${stack.edgeUrl}/v1/feed?count=5' -H 'authorization: Bearer ${token}'`);
console.log(`  open ${stack.webUrl}/ (web client; /ops: ops dashboard)`);
console.log(`  npm run token -- u42     # a session token for another user`);
const forced = await forcedAtEdge(stack.edgeUrl);
if (gate.ready && forced.length) console.log(`fyp-edge up but NOT ready: ${forced.join(", ")} (kept from an earlier run; POST /v1/admin/degradation {"region":…,"level":null} releases it)`);
else if (gate.ready) console.log(`fyp-edge ready: ${stack.edgeUrl} (API), ${stack.webUrl} (pages)`);
else console.log(`fyp-edge up but NOT ready after ${(gate.waitedMs / 1000).toFixed(0)} s: ${describeWaiting(gate.states)} — degraded answers until it clears (${stack.edgeUrl}/v1/status)`);

// Cron triggers do not fire under `wrangler dev`; run them on the same schedule as production
// (every minute: edge trending/emergency pre-warm, origin counter flush) through wrangler's local hook.
const cronTargets = [stack.edgeUrl, ...Object.values(stack.originUrl)];
const cron = setInterval(() => {
  for (const u of cronTargets) fetch(`${u}/cdn-cgi/local/scheduled`).then((r) => r.body?.cancel(), () => {});
}, 60_000);

// Backups per data type on their schedules (README "Backups"), into .local/dev/backups; the job log is
// logs/backup.log, and one line per tick that did something is printed here.
let backups: { stop(): void } | null = null;
if (!values["no-backups"]) {
  const log = createWriteStream(join(stack.dataDir, "logs", "backup.log"), { flags: "a" });
  const ctx = localBackupContext({ dataDir: stack.dataDir, pgPort: stack.ports.postgres, edgeUrl: stack.edgeUrl, adminToken: stack.secrets.ADMIN_TOKEN }, (l) => void log.write(`${new Date().toISOString()} ${l}\n`));
  backups = startBackupScheduler(ctx, {
    // A config history that did not change is checked every minute and exported only when it did: not news.
    onTick: (r) => r.ran.every((j) => j === "config-export") && !r.failed.length && !r.pruned.length && r.ms < 1000 ? undefined : console.log(`backups: ran ${r.ran.length ? r.ran.join(", ") : "nothing"}${r.failed.length ? `; failed ${r.failed.join(", ")}` : ""}; pruned ${r.pruned.length} (${(r.ms / 1000).toFixed(1)} s; ${ctx.root})`),
  });
  console.log(`backups: scheduler on (first run in 60 s; --no-backups turns it off), log ${join(stack.dataDir, "logs", "backup.log")}`);
}

let signals = 0;
async function shutdown(sig: string) {
  signals++;
  clearInterval(cron);
  backups?.stop();
  if (stopping) return;
  stopping = true;
  // The local queue is in memory (scripts/local/queue-drain.ts): let the consumer deliver what was
  // acknowledged (bounded; a second Ctrl-C skips), then say what is dropped.
  const drop = dropLine(await drainQueue(stack.edgeUrl, { log: (l) => console.log(l), skip: () => signals > 1 }));
  if (drop) console.log(drop);
  console.log(`\nfyp-edge: ${sig} — stopping everything this command started …`);
  await stack.stop();
  console.log("fyp-edge: stopped.");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGHUP", () => void shutdown("SIGHUP")); // terminal closed: the children are in their own groups
