import { DurableObject } from "cloudflare:workers";
import type { DurableObjectState } from "@cloudflare/workers-types";
import { isRegion, REGION_VALUES, type Region } from "../shared/regions.ts";
import { alertWebhookUrl, sendAlert } from "./alert-webhook.ts";
import { edgeConfig, type EdgeBindings, type EdgeConfig } from "./env.ts";
import { pendingAlerts, type AlertPayload } from "./incident.ts";
import { callOrigin } from "./origin-client.ts";
import { parseTimingOverrides, timingsFromEnv, type HealthTimings } from "./region-health-config.ts";
import {
  countsRequestError, initialState, normalizeState, step, type HealthEvent, type MachineEvent, type MachineState,
} from "./region-health-machine.ts";
import { roundsMayOverlap, roundTiming } from "./region-health-schedule.ts";
import { syncVerdicts } from "./replication-gate.ts";
import { snapshotOf, type HealthSnapshot } from "./region-health-snapshot.ts";
import { stepCapacity } from "./scaler-steps.ts";

// RegionHealth: the single global object (idFromName("global")) that probes every regional origin on
// an alarm and decides which regions are in rotation and at what weight (edge/routing.ts reads its
// snapshot). The failover rules live in region-health-machine.ts; this class does the I/O around them:
// probes, the alarm loop, alert delivery, persistence (so the event log and incidents survive restarts)
// and the RPC API.
//
// Alarm loop: rounds sit on a fixed grid (region-health-schedule.ts) — the next alarm is armed before the
// round runs, at the next slot after the planned one — and each round first closes the time windows that
// ended at its slot (anti-flap, recovery ramp), then probes the three origins concurrently with a timeout
// below the interval. Alerts are delivered off the loop (never awaited by a round or an RPC) and their
// outcome is fed back into the machine, which records it on the incident.

const HEALTH_PATH = "/internal/v1/health";
const KEY_MACHINE = "machine";
const KEY_TIMINGS = "timings";
/** The slot the pending alarm was planned for (the grid's anchor). */
const KEY_PLANNED = "plannedAt";

export type RegionHealthSnapshot = HealthSnapshot & {
  timings: HealthTimings;
  /** Next planned probe round (ms since the epoch), null before the loop started. */
  nextProbeAt: number | null;
  alerting: { webhook: "configured" | "off" | "invalid" };
};

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

// A probe's event is stamped with its round's slot `at` (when it was sent), not when it answered.
async function probe(cfg: EdgeConfig, region: Region, timeoutMs: number, at: number): Promise<MachineEvent> {
  const t0 = Date.now();
  const fail = (error: string): MachineEvent => ({ type: "probe_fail", region, at, latencyMs: Date.now() - t0, error });
  try {
    // No retries: one missed probe is one failure; the consecutive-failure count is the retry policy.
    const res = await callOrigin(cfg, region, HEALTH_PATH, {}, { retries: 0, delaysMs: [0], jitter: 0, perTryTimeoutMs: timeoutMs });
    if (!res.ok) {
      await res.body?.cancel();
      return fail(`status ${res.status}`);
    }
    const err = healthBodyError(await res.json().catch(() => null));
    if (err) return fail(err);
    return { type: "probe_ok", region, at, latencyMs: Date.now() - t0 };
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
  private plannedAt: number | null = null;

  constructor(ctx: DurableObjectState, env: EdgeBindings) {
    super(ctx, env);
    const { invalid, timings: t } = timingsFromEnv(env);
    if (invalid.length) console.warn(`region-health: ignoring malformed ${invalid.join(", ")} (defaults used)`);
    if (roundsMayOverlap(t)) console.warn(`region-health: probe timeout ${t.probeTimeoutMs} ms ≥ interval ${t.probeIntervalMs} ms: a slow round makes the next slot join it`);
    // Nothing else runs until the persisted state is loaded, so no call ever sees a blank machine.
    void ctx.blockConcurrencyWhile(async () => {
      const [machine, timings, planned] = await Promise.all([
        ctx.storage.get<MachineState>(KEY_MACHINE),
        ctx.storage.get<Partial<HealthTimings>>(KEY_TIMINGS),
        ctx.storage.get<number>(KEY_PLANNED),
      ]);
      if (machine) this.machine = normalizeState(machine);
      if (timings) this.overrides = timings;
      if (typeof planned === "number") this.plannedAt = planned;
      // At least once: alerts still pending when the object stopped (evicted, redeployed) are sent again.
      for (const a of pendingAlerts(this.machine)) this.dispatch(a);
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

  /**
   * An edge → origin call to `region` failed at `at` (ms; clamped to now). Restarts the region's
   * error-free timer if it is recovering; otherwise a no-op without a storage write. Called through
   * edge/origin-error-report.ts (rate-limited per isolate). Throws RangeError on a bad region.
   */
  async reportRequestError(region: Region, at: number, error?: string): Promise<{ counted: boolean }> {
    const r = checkRegion(region);
    const now = Date.now();
    const t = Number.isFinite(at) ? Math.min(at, now) : now;
    if (!countsRequestError(this.machine, r, t)) return { counted: false };
    await this.apply([{ type: "request_error", region: r, at: t, error: typeof error === "string" ? error.slice(0, 200) : undefined }]);
    return { counted: true };
  }

  /** Overrides timings at runtime (persisted; tests shrink them). Throws a 400 ApiError on bad input. */
  async configure(partial: Partial<HealthTimings>): Promise<HealthTimings> {
    const before = this.timings().probeIntervalMs;
    this.overrides = { ...this.overrides, ...parseTimingOverrides(partial) };
    await this.ctx.storage.put(KEY_TIMINGS, this.overrides);
    const t = this.timings();
    // A new interval takes effect now rather than after the (possibly long) pending alarm.
    if (t.probeIntervalMs !== before || !this.alarmChecked) await this.arm(Date.now() + t.probeIntervalMs);
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
    const now = Date.now();
    const { slotAt, nextAt } = roundTiming(this.plannedAt ?? now, now, this.timings().probeIntervalMs);
    // Armed before the round: its duration cannot shift the grid, and a failed round cannot stop the loop.
    await this.arm(nextAt);
    try {
      await this.probeRound(slotAt);
    } catch (e) {
      console.error(`region-health: probe round failed: ${(e as Error).message}`);
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
    const hook = alertWebhookUrl(this.env);
    const webhook = hook.url ? "configured" : hook.error ? "invalid" : "off";
    return { ...snapshotOf(this.machine, timings), timings, nextProbeAt: this.plannedAt, alerting: { webhook } };
  }

  // The interval is on the timings; `arm(Date.now() + interval)` starts a new grid (first start, new interval).
  private async arm(at: number): Promise<void> {
    this.plannedAt = at;
    await Promise.all([this.ctx.storage.setAlarm(at), this.ctx.storage.put(KEY_PLANNED, at)]);
    this.alarmChecked = true;
  }

  // Lazy start: the first call to the object arms the alarm if none is pending (the alarm then re-arms
  // itself). Checked once per instance; an evicted object re-checks on its next call.
  private async ensureAlarm(): Promise<void> {
    if (this.alarmChecked) return;
    const pending = await this.ctx.storage.getAlarm();
    if (pending === null) await this.arm(Date.now() + this.timings().probeIntervalMs);
    else this.plannedAt ??= pending;
    this.alarmChecked = true;
  }

  private probeRound(slotAt = Date.now()): Promise<RegionHealthSnapshot> {
    this.round ??= this.runRound(slotAt).finally(() => (this.round = null));
    return this.round;
  }

  private async runRound(at: number): Promise<RegionHealthSnapshot> {
    // A config error throws here, before any probe: it must not read as "every origin is down".
    const cfg = edgeConfig(this.env);
    // First the windows that ended at this slot (anti-flap → removed, ramp → full weight), published now
    // rather than after the probes: removal lands exactly on the slot, not up to a probe timeout later.
    await this.apply([{ type: "tick", at }], { persistIfQuiet: false });
    const results = await Promise.all(REGION_VALUES.map((r) => probe(cfg, r, this.timings().probeTimeoutMs, at)));
    return this.apply(await this.withSyncChecks(results));
  }

  // Recovery step 8: a removed region that answers again is re-added only once its global tables match
  // the others' (edge/replication-gate.ts). Checked only for those regions, at most one checksum read of
  // each origin per round, bounded by max(2 s, the probe interval) (a round may then outlast its slot:
  // the next alarm joins it, see region-health-schedule.ts).
  private async withSyncChecks(results: MachineEvent[]): Promise<MachineEvent[]> {
    const back = results.filter((e) => e.type === "probe_ok" && this.machine.regions[e.region].health === "removed").map((e) => (e as { region: Region }).region);
    if (!back.length) return results;
    const verdicts = await syncVerdicts(this.env, back, Math.max(2_000, this.timings().probeIntervalMs));
    return results.map((e) => (e.type === "probe_ok" && verdicts.has(e.region) ? { ...e, sync: verdicts.get(e.region) } : e));
  }

  // Applies events to the state as it is *now* (an RPC may have run while probes were in flight), then
  // hands any alerts the transitions asked for to delivery.
  private async apply(events: MachineEvent[], opts: { persistIfQuiet?: boolean } = {}): Promise<RegionHealthSnapshot> {
    const timings = this.timings();
    const emitted: HealthEvent[] = [];
    const alerts: AlertPayload[] = [];
    for (const e of events) {
      const r = step(this.machine, e, timings);
      this.machine = r.state;
      emitted.push(...r.emitted);
      alerts.push(...r.alerts);
    }
    for (const e of emitted) console.log(`region-health: ${e.region} ${e.from} → ${e.to} (weight ${e.weight}): ${e.reason}`);
    if (opts.persistIfQuiet !== false || emitted.length > 0) {
      await this.ctx.storage.put(KEY_MACHINE, this.machine);
    }
    for (const a of alerts) this.dispatch(a);
    if (emitted.length) this.ctx.waitUntil(stepCapacity(this.env, this.machine, timings)); // failover steps 4 and 8: capacity ×1.5 / back
    return this.view();
  }

  // Delivers one alert off the probe loop; the outcome comes back as an `alert_result` event.
  private dispatch(alert: AlertPayload): void {
    console.log(`region-health: alert ${alert.type} ${alert.region} (${alert.incident_id}): ${alert.title}`);
    const hook = alertWebhookUrl(this.env);
    const delivery = hook.url
      ? sendAlert(hook.url, alert)
      : Promise.resolve({ outcome: hook.error ? "failed" : "disabled", attempts: 0, http_status: null, error: hook.error } as const);
    const done = delivery.then(async (d) => {
      if (d.outcome === "failed") console.error(`region-health: alert ${alert.type} ${alert.region} not delivered: ${d.error}`);
      await this.apply([{ type: "alert_result", at: Date.now(), incident_id: alert.incident_id, alert_type: alert.type, ...d }]);
    }).catch((e: Error) => console.error(`region-health: recording alert outcome failed: ${e.message}`));
    this.ctx.waitUntil(done);
  }
}
