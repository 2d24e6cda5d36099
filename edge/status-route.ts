import type { Context } from "hono";
import { REGION_VALUES, type Region } from "../shared/regions.ts";
import type { EdgeEnv } from "./app-env.ts";
import { edgeConfig } from "./env.ts";
import { getForcedLevels } from "./forced-levels.ts";
import { callOrigin } from "./origin-client.ts";
import { readPlan, readShares } from "./read-plan.ts";
import { regionHealth, regionViews } from "./routing.ts";
import { replicationStatus } from "./replication-status.ts";
import { lagWarnings, lagWarnS } from "./replication-gate.ts";
import { edgeStats } from "./stats.ts";
import { listDeadLetters } from "./dead-letters.ts";
import { capacityStatus } from "./scaler-steps.ts";
import { queueCountsView } from "./queue-counts.ts";

// GET /v1/status: what the ops page shows. Everything is gathered with short timeouts and no retries:
// status must answer quickly precisely when parts of the system are down.
const ORIGIN_STATUS_TIMEOUT_MS = 800;
const noRetry = { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: ORIGIN_STATUS_TIMEOUT_MS };

async function originHealth(c: Context<EdgeEnv>, region: Region): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  try {
    const res = await callOrigin(edgeConfig(c.env), region, "/internal/v1/health", {}, noRetry);
    const body = (await res.json()) as Record<string, unknown>;
    return { reachable: res.ok, latency_ms: Math.round(performance.now() - t0), ...body };
  } catch (e) {
    return { reachable: false, latency_ms: Math.round(performance.now() - t0), error: (e as Error).message };
  }
}

export async function statusRoute(c: Context<EdgeEnv>): Promise<Response> {
  const rh = regionHealth(c.env);
  const [health, views, forced, origins, deadLetters, replication, capacity] = await Promise.all([
    rh ? rh.snapshot().catch((e: Error) => ({ error: e.message })) : Promise.resolve(null),
    regionViews(c.env),
    getForcedLevels(c.env.FYP_KV),
    Promise.all(REGION_VALUES.map(async (r) => [r, await originHealth(c, r)] as const)),
    listDeadLetters(c.env.FYP_KV, 20).catch((e: Error) => ({ count: null, letters: [], error: e.message })),
    replicationStatus(c),
    capacityStatus(c.env).catch((e: Error) => ({ error: e.message })),
  ]);
  const regions: Record<string, unknown> = {};
  for (const [r, o] of origins) {
    // The split routing applies to this region's reads, as shares (no random draw: a recovering region at
    // 10% weight reports the same on every poll): its level is the worst any share of its readers gets,
    // "serving from" the region that serves the largest share (`reads` lists them all).
    const reads = readShares(readPlan(views, forced, r));
    const routeLevel = Math.max(...reads.map((x) => x.level));
    const originLevel = typeof o.degradation_level === "number" ? o.degradation_level : o.reachable ? 0 : 4;
    regions[r] = {
      degradation_level: Math.max(routeLevel, originLevel, forced[r] ?? 0),
      forced_level: forced[r] ?? null,
      serving_from: reads[0].region,
      reads: reads.map((x) => ({ region: x.region, share: Math.round(x.share * 10_000) / 10_000, level: x.level })),
      origin: { ...o, replication: replication.byRegion[r] },
    };
  }
  const lookups = edgeStats.hit + edgeStats.miss + edgeStats.stale + edgeStats.coalesced;
  return c.json(
    {
      generated_at: new Date().toISOString(),
      regions,
      region_health: health,
      // Catalogue replication lag per (from → to) flow, seconds (origin/replication/lag.ts).
      replication: { pairs: replication.pairs, max_lag_s: replication.max_lag_s, lag_warn_s: lagWarnS(c.env), warnings: lagWarnings(replication.pairs, lagWarnS(c.env)) },
      // Events that can never be written as they are, with their reasons (`npm run dlq -- --replay`).
      dead_letters: {
        count: deadLetters.count,
        recent: deadLetters.letters.map((l) => ({ id: l.id, reason: l.reason, parked_at: l.parked_at, attempts: l.attempts, events: (l.body as { events?: unknown[] })?.events?.length ?? null })),
      },
      // Failover capacity steps (×1.5 while a region is out, back at full weight): edge/scaler-steps.ts.
      capacity_steps: capacity,
      edge: {
        cache: { ...edgeStats, hit_rate: lookups ? (edgeStats.hit + edgeStats.stale + edgeStats.coalesced) / lookups : null },
        isolate_scope: "counters are per edge isolate",
        // EVENTS messages sent (202) and settled by this isolate; `npm start` reads `pending` on Ctrl-C.
        queue: queueCountsView(),
      },
    },
    200,
    { "cache-control": "no-store" },
  );
}
