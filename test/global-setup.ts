import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startStack, type Stack } from "../scripts/stack.ts";
import { startFaultControl } from "./fault-control.ts";
import { startAlertReceiver } from "./e2e/support/alert-receiver.ts";
import { profileDirName } from "../shared/local-ports.ts";

// Starts the real local stack once for the node test project (profile "test": its own ports and data
// dir, a small data set) and hands the URLs to tests through provide/inject.
let stack: Stack | null = null;

export default async function setup(project: TestProject) {
  const root = new URL("../", import.meta.url).pathname;
  if (process.env.FYP_TEST_KEEP_DATA !== "1") rmSync(join(root, ".local", profileDirName("test")), { recursive: true, force: true });
  const alerts = await startAlertReceiver(); // the on-call pager stand-in (region failover alerts)
  stack = await startStack({
    profile: "test",
    users: Number(process.env.FYP_TEST_USERS ?? 3000),
    videos: Number(process.env.FYP_TEST_VIDEOS ?? 20000),
    log: (l) => process.stderr.write(`[stack] ${l}\n`),
    // Shrunk failover timings so region-outage tests run in seconds (DESIGN §3: all timings configurable).
    edgeVars: {
      HEALTH_PROBE_INTERVAL_MS: "500", HEALTH_PROBE_TIMEOUT_MS: "1000", HEALTH_FAILURES_TO_REMOVE: "3",
      HEALTH_ANTI_FLAP_MS: "1500", HEALTH_RECOVERY_WEIGHT: "0.1", HEALTH_FULL_WEIGHT_AFTER_MS: "4000", EVENTS_MAX_RETRY_DELAY_S: "2",
      ALERT_WEBHOOK_URL: `${alerts.url}/alerts`,
    },
    // Origins: the seed's 40 ms per ranking try assumes a GPU pool next to the origin; on the shared 2-core
    // test box healthy ranking calls from workerd time out at 40 ms (3 of 40 first pages, measured), so the
    // stack allows 250 ms (slow calls, > 40 ms, still count against the breaker). Latency windows of 15 s
    // instead of 60 s, so a level raised by one test's fault is gone within seconds for the next one.
    // test/e2e/production-levels.test.ts runs an origin with the production values of both; the chaos suite
    // (last) restarts these origins with the production 40 ms and sets the edge's probe to the production 10 s.
    // LEVEL_DB_P99_MS: the shared stack's origins judge "database slow" at 1 s, not the seed's 100 ms: on a
    // 2-core box running ~10 processes the p99 of every query is over 100 ms from the start, which would
    // hold every origin at level 3 for every test. test/e2e/production-levels.test.ts runs its own origin
    // with the production values (100 ms, 40 ms ranking timeout, 60 s windows) and proves level 3 there.
    originVars: { RANK_TIMEOUT_MS: "250", LEVEL_WINDOW_MS: "15000", LEVEL_DB_P99_MS: "1000" },
  });
  const control = await startFaultControl(stack.faults);
  project.provide("stack", {
    edgeUrl: stack.edgeUrl,
    webUrl: stack.webUrl,
    originUrl: stack.originUrl,
    rankingUrl: stack.rankingUrl,
    upstashUrl: stack.upstashUrl,
    pgPort: stack.ports.postgres,
    secrets: stack.secrets,
    faultUrl: control.url,
    alertsUrl: alerts.url,
  });
  return async () => {
    await control.close();
    await stack?.stop();
    await alerts.close();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: {
      /** The edge's API worker. */
      edgeUrl: string;
      /** The edge's pages worker (web client /, ops page /ops), forwarding the API's paths to edgeUrl. */
      webUrl: string;
      originUrl: Record<"us" | "eu" | "apac", string>;
      rankingUrl: string;
      upstashUrl: Record<"us" | "eu" | "apac", string>;
      pgPort: number;
      secrets: { SESSION_SECRET: string; ADMIN_TOKEN: string; INTERNAL_SECRET: string; CURSOR_SECRET: string };
      faultUrl: string;
      /** The alert receiver: GET /received, POST /control (test/e2e/support/alert-receiver.ts). */
      alertsUrl: string;
    };
  }
}
