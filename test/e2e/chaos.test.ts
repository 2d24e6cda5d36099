import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { profileDirName } from "../../shared/local-ports.ts";
import { fault } from "./support/faults.ts";
import { startLoad, totals } from "./support/load.ts";
import { countByKeys, residentUser, waitFor, withRegionDb } from "./support/pg.ts";
import { atFullWeight, edgeRegionHealth } from "./support/region-status.ts";

// Chaos under steady load (DESIGN §5): real faults one after another — Redis stopped, Postgres stopped,
// Postgres SIGKILLed (a crash: crash recovery on restart), ranking slowed then killed, one region down,
// then a second one — each restored before the next (the two region outages overlap). Asserts the expected
// level (and for ranking its reason) at each step, zero 5xx on feed reads, and that every event
// acknowledged with 202 is in its home region's database exactly once after recovery. Prints the figures.
// The ranking service's recovery from the kill and the region outages run at the same time (independent:
// us and ranking; eu, apac and the edge's routing), which wins back most of what 10 s probes cost.
//
// Production values (issue 12): the database runs durable settings; the origins are restarted at the start
// with the production ranking timeout (RANK_TIMEOUT_MS 40, the shared stack runs 250: test/global-setup.ts),
// and the edge probes every 10 s with the production 2 s timeout and 3 failures to remove a region.
// Shrunk only for test speed: the anti-flap wait (2 s, production 30 s: removal at most 40 s after an
// outage begins instead of 60 s), full weight after 5 s clean (production 5 min), the origins' latency
// windows (15 s, production 60 s: a fault's samples age out within seconds, not a minute, before the
// next step), and each fault held 5 s. The origins also keep the shared stack's 1 s database-latency
// threshold (production 100 ms): the loaded 2-core box is over 100 ms at p99 from the start, which would
// hold level 3 through every step; test/e2e/production-levels.test.ts proves level 3 at 100 ms.
// Chaos runs last (vitest.config.ts), so restarting the shared origins cannot affect another file.
const stack = inject("stack");
const pgLogFile = join(new URL("../../", import.meta.url).pathname, ".local", profileDirName("test"), "logs", "postgres.log");
const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };
type R = "us" | "eu" | "apac";

/** Production origin values this suite runs with (origin/env.ts defaults), over the shared stack's. */
const PRODUCTION_ORIGIN_VARS = { RANK_TIMEOUT_MS: "40" };
/** Edge RegionHealth timings (edge/region-health-config.ts DEFAULT_TIMINGS: 10 s, 2 s, 3, 30 s, 0.1, 5 min). */
const EDGE_TIMINGS = { probeIntervalMs: 10_000, probeTimeoutMs: 2_000, failuresToRemove: 3, antiFlapMs: 2_000, recoveryWeight: 0.1, fullWeightAfterMs: 5_000 };
/** The design's promise: a region out of rotation at most 60 s after its outage began. */
const REMOVAL_BOUND_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface OriginHealth {
  degradation_level: number;
  reasons: string[];
  breakers: { ranking: { state: string } };
  dependencies: { ranking: { p99Ms: number | null; samples: number; errorRate: number | null } };
}
async function originHealth(r: R): Promise<OriginHealth> {
  return (await (await fetch(`${stack.originUrl[r]}/internal/v1/health`, { headers: secret })).json()) as OriginHealth;
}
const originLevel = async (r: R) => (await originHealth(r)).degradation_level;
const mlSummary = (h: OriginHealth) => `level ${h.degradation_level} [${h.reasons.join("; ")}], breaker ${h.breakers.ranking.state}, ML ${JSON.stringify(h.dependencies.ranking)}`;
const allHealthy = async () => {
  const h = await edgeRegionHealth(stack.edgeUrl);
  return h.level === 0 && atFullWeight(h);
};
const ALL: R[] = ["us", "eu", "apac"];
const allOriginsAt = async (level: number) => (await Promise.all(ALL.map(originLevel))).every((l) => l === level);
const rankFault = (delay_ms: number) =>
  fetch(`${stack.rankingUrl}/v1/admin/fault`, { method: "POST", headers: { ...secret, "content-type": "application/json" }, body: JSON.stringify({ delay_ms, fail_rate: 0 }) });

interface Row { name: string; detectedMs: number; recoveredMs: number | null; why?: string }
const rows: Row[] = [];
let load: ReturnType<typeof startLoad>;

/** Apply a fault under load, wait for the expected level, hold it, restore; resolves with the wait for full
 * recovery (awaited by the caller: a step may recover while the next, independent one runs).
 * `expectDegraded` returns what it saw (a truthy string is printed) or false. */
async function scenario(name: string, apply: () => Promise<void>, expectDegraded: () => Promise<boolean | string>, restore: () => Promise<void>, recovered: () => Promise<boolean>, recoveryMs = 60_000): Promise<{ recovery: Promise<void> }> {
  load.setPhase(name);
  const t0 = Date.now();
  await apply();
  let detectedMs = NaN;
  let why: string | undefined;
  try {
    const seen = await waitFor(expectDegraded, 40_000, `${name}: expected level`);
    detectedMs = Date.now() - t0;
    if (typeof seen === "string") why = seen;
    await new Promise((r) => setTimeout(r, 5000)); // hold the fault under load
  } finally {
    await restore();
  }
  const t1 = Date.now();
  const recovery = waitFor(recovered, recoveryMs, `${name}: recovery`).then(() => void rows.push({ name, detectedMs, recoveredMs: Date.now() - t1, why }));
  recovery.catch(() => {}); // awaited by the caller; no unhandled rejection before that
  return { recovery };
}
/** One step, recovered before the next. */
const step = async (...a: Parameters<typeof scenario>) => (await scenario(...a)).recovery;

const timings = (t: Record<string, number>) =>
  fetch(`${stack.edgeUrl}/v1/admin/region-health/timings`, { method: "POST", headers: { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(t) });

const EU_DOWN = "one region (eu) down → level 4";
const TWO_DOWN = "a second region (apac) down → level 5";
const edgeLevel = async () => (await edgeRegionHealth(stack.edgeUrl)).level;

/**
 * The two region outages, overlapped: with 10 s probes each takes 30–40 s to detect and 20–30 s to
 * recover, so they share one recovery. eu stops; apac stops one probe interval later, so its third
 * failed probe is at least one round after eu's: eu is out alone (level 4 routing) for at least one round
 * before apac is out too (level 5); then both are restored together. The eu phase runs until level 5.
 */
async function regionOutages() {
  load.setPhase(EU_DOWN);
  const t0 = Date.now();
  await fault("origin", "stop", "eu");
  const apacStopped = sleep(EDGE_TIMINGS.probeIntervalMs).then(async () => (await fault("origin", "stop", "apac"), Date.now()));
  let two: Row | undefined; // its row (the ranking kill's recovery may add rows meanwhile)
  try {
    await waitFor(async () => (await edgeRegionHealth(stack.edgeUrl)).regions.eu.state === "removed", REMOVAL_BOUND_MS, `${EU_DOWN}: eu removed`);
    rows.push({ name: EU_DOWN, detectedMs: Date.now() - t0, recoveredMs: null });
    const t1 = await apacStopped;
    await waitFor(async () => (await edgeLevel()) === 5, REMOVAL_BOUND_MS, `${TWO_DOWN}: level 5`);
    load.setPhase(TWO_DOWN);
    rows.push(two = { name: TWO_DOWN, detectedMs: Date.now() - t1, recoveredMs: null });
    await sleep(5000); // hold the fault under load
  } finally {
    await apacStopped.catch(() => {});
    await Promise.all(["eu", "apac"].map((r) => fault("origin", "start", r)));
  }
  const t2 = Date.now();
  // Typically 20–30 s (two origins restarting, a probe round, the catalogue sync gate, 10% → full weight).
  // One cause of runs past 60 s is fixed: a region back at level 3 with a backlog of queued events had its
  // error-free timer restarted by each redelivery's 503 writes_queued (edge/origin-error-report.ts
  // isOriginFault). Bounded at 90 s all the same: a whole-suite run on this 2-core box after that fix still
  // took 60.3 s (the box at level 3 from database latency during the two-region step).
  await waitFor(allHealthy, 90_000, "region outages: recovery");
  two!.recoveredMs = Date.now() - t2;
}

afterAll(async () => {
  await timings({ probeIntervalMs: 500, probeTimeoutMs: 1000, failuresToRemove: 3, antiFlapMs: 1500, recoveryWeight: 0.1, fullWeightAfterMs: 4000 }).catch(() => {});
  await rankFault(0).catch(() => {});
  for (const r of ["us", "eu", "apac"]) await fault("origin", "start", r).catch(() => {});
  await fault("ranking", "start").catch(() => {});
});

describe("chaos under steady load", () => {
  it("the stack's Postgres is durable: fsync, synchronous_commit and full_page_writes on", async () => {
    const durability = ["fsync", "synchronous_commit", "full_page_writes"];
    const rows = await withRegionDb(stack.pgPort, "us", async (c) => (await c.query("SELECT name, setting FROM pg_settings WHERE name = ANY($1)", [durability])).rows);
    expect(Object.fromEntries(rows.map((r) => [r.name, r.setting]))).toEqual({ fsync: "on", synchronous_commit: "on", full_page_writes: "on" });
  });

  it("zero 5xx on feed reads, the expected level at each step and 0 after it, every acknowledged event stored exactly once", async () => {
    const users: Record<string, string[]> = {};
    for (const r of ALL) users[r] = await Promise.all(Array.from({ length: 12 }, (_, i) => residentUser(stack.pgPort, r, 200 + i)));
    // The production probe cadence first (three failed probes then take 30 s), then the origins restart
    // with the production ranking timeout: one missed probe each, no removal.
    expect((await timings(EDGE_TIMINGS)).status).toBe(200);
    await Promise.all(ALL.map(async (r) => {
      await fault("origin", "stop", r);
      await fault("origin", "start", r, PRODUCTION_ORIGIN_VARS);
    }));
    await waitFor(allHealthy, 30_000, "healthy start");
    // Edge-cached pages make ranking calls rare under this load; first pages for fresh users straight at
    // the origin give the ranking signals (latency window, breaker) their samples. One at a time: the local
    // ranking service is one CPU thread, and concurrent steps queue behind each other past 40 ms.
    let fresh = 0;
    const rankTraffic = async () => {
      for (let i = 0; i < 6; i++) {
        const u = await residentUser(stack.pgPort, "us", 400 + (fresh++ % 300));
        // A read that hangs is a defect (every call the origin makes has a timeout): fail with it, not after undici's 300 s.
        await fetch(`${stack.originUrl.us}/internal/v1/feed?count=5&user_id=${u}`, { headers: secret, signal: AbortSignal.timeout(15_000) }).then((r) => r.arrayBuffer());
      }
    };
    // After a ranking fault: the breaker back to CLOSED under that traffic (its half-open trials), then every
    // origin at level 0 with the load alone (the extra ranking traffic stopped: see the README on healthy
    // 40 ms tries on this box).
    const rankingRecovered = (origins = ALL) => {
      let closed = false;
      return async () => {
        if (closed) return (await Promise.all(origins.map(originLevel))).every((l) => l === 0);
        await rankTraffic();
        const h = await originHealth("us");
        if (h.breakers.ranking.state === "CLOSED") (closed = true), console.info(`breaker closed: ${mlSummary(h)}`);
        return false;
      };
    };
    const withRankTraffic = <T>(f: () => Promise<T>) => async () => {
      await rankTraffic();
      return f();
    };
    // What healthy ranking calls look like with 40 ms tries on this box (for the report).
    for (let i = 0; i < 5; i++) await rankTraffic();
    console.info(`healthy start, us: ${mlSummary(await originHealth("us"))}`);
    load = startLoad(stack.edgeUrl, stack.secrets.SESSION_SECRET, users, 3);
    try {
      await step("Redis (eu) stopped → level 2", () => fault("redis", "stop", "eu"), async () => (await originLevel("eu")) === 2, () => fault("redis", "start", "eu"), () => allOriginsAt(0));
      await step("Postgres stopped → level 3", () => fault("postgres", "stop"), async () => (await originLevel("us")) === 3, () => fault("postgres", "start"), () => allOriginsAt(0));
      // A crash, not a clean stop: SIGKILL to the postmaster and every backend while events are being
      // written; "start" runs crash recovery on the same data dir. No acknowledged event may be lost.
      const crashRecoveries = () => (readFileSync(pgLogFile, "utf8").match(/automatic recovery in progress/g) ?? []).length;
      const recoveriesBefore = crashRecoveries();
      await step("Postgres SIGKILLed → level 3, crash recovery", () => fault("postgres", "kill"), async () => (await originLevel("us")) === 3, () => fault("postgres", "start"), () => allOriginsAt(0));
      expect(crashRecoveries()).toBe(recoveriesBefore + 1);
      // An opened breaker waits 30 s, then needs 10 healthy trial calls: recovery gets 150 s.
      // Level 1 for a ranking reason: slowed past the 40 ms tries, the ML-latency trigger (p99 > 50 ms from
      // 20 samples) or the breaker, whichever judges first — its 100-call window is not emptied between
      // steps and may already hold the earlier steps' failures (with 40 ms tries on this box healthy calls
      // time out now and then), the ML window of 15 s is; killed, the breaker opens.
      const usLevel1For = (reason: RegExp) => async () => {
        const h = await originHealth("us");
        return h.degradation_level === 1 && h.reasons.some((x) => reason.test(x)) && mlSummary(h);
      };
      await step("ranking slow (120 ms) → level 1", async () => void (await rankFault(120)), withRankTraffic(usLevel1For(/^(ML p99 \d+(\.\d)? ms > 50 ms|ranking breaker (open|half_open))$/)),
        async () => void (await rankFault(0)), rankingRecovered(), 150_000);
      // The breaker's recovery (its 30 s open wait, then trials) and the region outages are independent (us
      // and the ranking service; eu, apac and the edge's routing): they run at the same time.
      const killed = await scenario("ranking killed → level 1 (breaker open)", () => fault("ranking", "stop"), withRankTraffic(usLevel1For(/^ranking breaker open$/)),
        () => fault("ranking", "start"), rankingRecovered(["us"]), 150_000);
      await regionOutages();
      await killed.recovery;
      await waitFor(() => allOriginsAt(0), 60_000, "every origin at level 0 after the last step");
      load.setPhase("after recovery");
      await new Promise((r) => setTimeout(r, 3000)); // a few seconds of normal service after the last fault
    } finally {
      await load.stop();
    }
    // Every 202 lands in its home region exactly once (the queue retries until the origin writes it) and
    // never in another region's database.
    const all = totals(load.phases.values());
    for (const r of ALL) {
      const keys = all.acked[r];
      await waitFor(async () => (await countByKeys(stack.pgPort, r, keys)).size === keys.length, 90_000, `acknowledged ${r} events stored`);
    }
    const storedPerPhase = new Map<string, number>();
    for (const [name, p] of load.phases) {
      let stored = 0;
      for (const r of ALL) {
        const counts = await countByKeys(stack.pgPort, r, p.acked[r]);
        expect([...counts.values()].every((n) => n === 1), `${name}: ${r} events stored exactly once`).toBe(true);
        stored += counts.size;
        for (const other of ALL.filter((o) => o !== r)) expect((await countByKeys(stack.pgPort, other, p.acked[r])).size, `${name}: ${r} events in ${other}`).toBe(0);
      }
      storedPerPhase.set(name, stored);
    }
    for (const r of rows.filter((x) => x.why)) console.info(`${r.name}: detected at ${r.why}`);
    const timing = new Map(rows.map((r) => [r.name, r]));
    console.log("\n| scenario | feed reads | 5xx | other non-200 | levels seen | events sent | 202 | stored | detected (ms) | recovered (ms) |");
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    for (const [name, p] of load.phases) {
      const t = timing.get(name);
      const levels = Object.entries(p.levels).map(([l, n]) => `${l}:${n}`).join(" ");
      console.log(`| ${name} | ${p.feedReads} | ${p.feed5xx} | ${p.feedOther} | ${levels} | ${p.eventPosts} | ${p.events202} | ${storedPerPhase.get(name)} | ${t?.detectedMs ?? "-"} | ${t?.recoveredMs ?? "-"} |`);
    }
    console.log(`| total | ${all.feedReads} | ${all.feed5xx} | ${all.feedOther} | | ${all.eventPosts} | ${all.events202} | ${[...storedPerPhase.values()].reduce((a, b) => a + b, 0)} | | |`);
    expect(all.feed5xx).toBe(0);
    expect(all.feedOther).toBe(0);
    for (const [name, p] of load.phases) expect(storedPerPhase.get(name), name).toBe(p.events202);
    // Clients saw the degradation, not just the health endpoint: responses at the step's level.
    const seen = (name: string, level: number) => load.phases.get(name)?.levels[level] ?? 0;
    expect(seen("Redis (eu) stopped → level 2", 2)).toBeGreaterThan(0);
    expect(seen("ranking slow (120 ms) → level 1", 1)).toBeGreaterThan(0);
    expect(seen(EU_DOWN, 4)).toBeGreaterThan(0);
    expect(seen(TWO_DOWN, 5)).toBeGreaterThan(0);
    expect(all.events202).toBeGreaterThan(10);
  }, 540_000);
});
