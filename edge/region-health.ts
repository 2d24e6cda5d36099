import { DurableObject } from "cloudflare:workers";
import type { DurableObjectState } from "@cloudflare/workers-types";
import { isRegion, REGION_VALUES, type Region } from "../shared/regions.ts";
import { edgeConfig, type EdgeBindings, type EdgeConfig } from "./env.ts";
import { callOrigin } from "./origin-client.ts";
import { parseTimingOverrides, timingsFromEnv, type HealthTimings } from "./region-health-config.ts";
import {
  initialState, snapshotOf, step, type HealthEvent, type HealthSnapshot, type MachineEvent, type MachineState,
} from "./region-health-machine.ts";

// RegionHealth: the single global object (idFromName("global")) that probes every regional origin on
// an alarm and decides which regions are in rotation and at what weight (edge/routing.ts reads its
// snapshot). The failover rules live in region-health-machine.ts; this class does the I/O around them:
// probes, the alarm loop, persistence (so the event log and incidents survive restarts) and the RPC API.

const HEALTH_PATH = "/internal/v1/health";
const KEY_MACHINE = "machine";
const KEY_TIMINGS = "timings";

export type RegionHealthSnapshot = HealthSnapshot & { timings: HealthTimings };

/**
 * Interprets a 2xx health answer. The origin reports `{status: "ok", degradation_level, ...}`; a body
 * that is not JSON (an intermediary's page), `ok: false`, or a status other than ok/degraded is a failure.
 * "degraded" passes on purpose: levels 1–3 are handled by the origin itself, not by removing the region.
 */
export function healthBodyError(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return "health body is not a JSON object";
  const b = body as { ok?: unknown; status?: unknown };
  if (b.ok === false) return "health body reports ok: false";
  if (typeof b.status === "string" && b.status !== "ok" && b.status !== "degraded") return `health status ${b.status}`;
  return null;
}

async function probe(cfg: EdgeConfig, region: Region, timeoutMs: number): Promise<MachineEvent> {
  const t0 = Date.now();
  const fail = (error: string): MachineEvent => ({ type: "probe_fail", region, at: Date.now(), latencyMs: Date.now() - t0, error });
  try {
    // No retries: one missed probe is one failure; the consecutive-failure count is the retry policy.
    const res = await callOrigin(cfg, region, HEALTH_PATH, {}, { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: timeoutMs });
    if (!res.ok) {
      await res.body?.cancel();
      return fail(`status ${res.status}`);
    }
    const err = healthBodyError(await res.json().catch(() => null));
    if (err) return fail(err);
    return { type: "probe_ok", region, at: Date.now(), latencyMs: Date.now() - t0 };
  } catch (e) {
    return fail((e as Error).message || String(e));
  }
}

function checkRegion(region: unknown): Region {
  if (!isRegion(region)) throw new RangeError(`region must be one of ${REGION_VALUES.join(", ")}`);
  return region;
}

export class RegionHealth extends DurableObject<EdgeBindings> {
  private machine: MachineState = initialState(Date.now());
  private overrides: Partial<HealthTimings> = {};
  private round: Promise<RegionHealthSnapshot> | null = null;
  private alarmChecked = false;

  constructor(ctx: DurableObjectState, env: EdgeBindings) {
    super(ctx, env);
    const { invalid } = timingsFromEnv(env);
    if (invalid.length) console.warn(`region-health: ignoring malformed ${invalid.join(", ")} (defaults used)`);
    // Nothing else runs until the persisted state is loaded, so no call ever sees a blank machine.
    void ctx.blockConcurrencyWhile(async () => {
      const [machine, timings] = await Promise.all([
        ctx.storage.get<MachineState>(KEY_MACHINE),
        ctx.storage.get<Partial<HealthTimings>>(KEY_TIMINGS),
      ]);
      if (machine) this.machine = machine;
      if (timings) this.overrides = timings;
    });
  }

  // ---- RPC API -------------------------------------------------------------------------------------

  async snapshot(): Promise<RegionHealthSnapshot> {
    await this.ensureAlarm();
    return this.view();
  }

  /** Starts the probe loop if it is not running (every other RPC does this too). */
  async ensureStarted(): Promise<{ nextProbeAt: number | null }> {
    await this.ensureAlarm();
    return { nextProbeAt: await this.ctx.storage.getAlarm() };
  }

  /** Runs one probe round now (a round already in flight is joined, not duplicated). */
  async probeNow(): Promise<RegionHealthSnapshot> {
    await this.ensureAlarm();
    return this.probeRound();
  }

  async drain(region: Region): Promise<RegionHealthSnapshot> {
    await this.ensureAlarm();
    return this.apply([{ type: "drain", region: checkRegion(region), at: Date.now() }]);
  }

  async restore(region: Region): Promise<RegionHealthSnapshot> {
    await this.ensureAlarm();
    return this.apply([{ type: "restore", region: checkRegion(region), at: Date.now() }]);
  }

  /** Overrides timings at runtime (persisted; tests shrink them). Throws a 400 ApiError on bad input. */
  async configure(partial: Partial<HealthTimings>): Promise<HealthTimings> {
    const before = this.timings().probeIntervalMs;
    this.overrides = { ...this.overrides, ...parseTimingOverrides(partial) };
    await this.ctx.storage.put(KEY_TIMINGS, this.overrides);
    const t = this.timings();
    // A new interval takes effect now rather than after the (possibly long) pending alarm.
    if (t.probeIntervalMs !== before || !this.alarmChecked) await this.arm(t.probeIntervalMs);
    return t;
  }

  /**
   * Forgets all health state, incidents, events and timing overrides. The alarm is left as it is (not
   * armed here) so that a test can reset and then configure() its timings before any probe runs.
   */
  async reset(): Promise<RegionHealthSnapshot> {
    await this.ctx.storage.delete([KEY_MACHINE, KEY_TIMINGS]);
    this.machine = initialState(Date.now());
    this.overrides = {};
    return this.view();
  }

  // ---- Workers entry points ------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    try {
      await this.probeRound();
    } catch (e) {
      console.error(`region-health: probe round failed: ${(e as Error).message}`);
    } finally {
      // Re-arm even after a failed round: the loop must never stop on its own.
      await this.arm(this.timings().probeIntervalMs);
    }
  }

  /** Debugging: GET /snapshot. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/snapshot") {
      return new Response(JSON.stringify(await this.snapshot()), { headers: { "content-type": "application/json" } });
    }
    return new Response("not found", { status: 404 });
  }

  // ---- internals -----------------------------------------------------------------------------------

  private timings(): HealthTimings {
    return { ...timingsFromEnv(this.env).timings, ...this.overrides };
  }

  private view(): RegionHealthSnapshot {
    const timings = this.timings();
    return { ...snapshotOf(this.machine, timings), timings };
  }

  private async arm(intervalMs: number): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + intervalMs);
    this.alarmChecked = true;
  }

  // Lazy start: the first call to the object arms the alarm if none is pending (the alarm then re-arms
  // itself). Checked once per instance; an evicted object re-checks on its next call.
  private async ensureAlarm(): Promise<void> {
    if (this.alarmChecked) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.arm(this.timings().probeIntervalMs);
    this.alarmChecked = true;
  }

  private probeRound(): Promise<RegionHealthSnapshot> {
    this.round ??= this.runRound().finally(() => (this.round = null));
    return this.round;
  }

  private async runRound(): Promise<RegionHealthSnapshot> {
    // A config error throws here, before any probe: it must not read as "every origin is down".
    const cfg = edgeConfig(this.env);
    const results = await Promise.all(REGION_VALUES.map((r) => probe(cfg, r, this.timings().probeTimeoutMs)));
    // The tick closes anti-flap waits and recovery ramps that ended without a probe landing on them.
    return this.apply([...results, { type: "tick", at: Date.now() }]);
  }

  // Applies events to the state as it is *now* (an RPC may have run while probes were in flight).
  private async apply(events: MachineEvent[]): Promise<RegionHealthSnapshot> {
    const timings = this.timings();
    const emitted: HealthEvent[] = [];
    for (const e of events) {
      const r = step(this.machine, e, timings);
      this.machine = r.state;
      emitted.push(...r.emitted);
    }
    for (const e of emitted) console.log(`region-health: ${e.region} ${e.from} → ${e.to} (weight ${e.weight}): ${e.reason}`);
    await this.ctx.storage.put(KEY_MACHINE, this.machine);
    return this.view();
  }
}
