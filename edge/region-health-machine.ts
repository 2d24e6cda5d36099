import { REGION_VALUES, type Region } from "../shared/regions.ts";
import {
  newIncident, normalizeIncident, queueAlert, recordAlertResult, type AlertPayload, type AlertResult, type AlertType, type Incident,
} from "./incident.ts";
import type { HealthTimings } from "./region-health-config.ts";

// Region failover as a pure state machine (DESIGN.md §3 "Regions"). No I/O and no clock: every event
// carries its own time, so the whole procedure is unit-tested with explicit timestamps and the Durable
// Object (edge/region-health.ts) only probes, feeds events in and persists the result.
//
//   healthy ─fail→ suspect ─N consecutive fails→ anti_flap ─still failing after antiFlapMs→ removed
//      ↑              │ok                            │ok (removal cancelled)                 │ok
//      └──────────────┴──────────────────────────────┘                                     ↓
//      └──────────── clean for fullWeightAfterMs (incident resolved) ───────────────── recovering
//                                                                    removed ←fail─────────┘
//
// Removal opens an incident (status investigating) and asks for a `region_down` alert; full weight
// resolves it and asks for `region_recovered` (edge/incident.ts). "Clean" counts both probes and request
// errors: a `request_error` (an edge → origin call that failed while the region was recovering) restarts
// the error-free timer without removing the region again (a failed probe does remove it).
//
// Recovery step 8 (issue 14 item 2): a removed region whose probe succeeds is re-added only once its
// global tables match the other regions' (row counts and checksums, edge/replication-gate.ts). The DO
// runs that check and hands its outcome in with the probe (`sync`); a check that did not pass keeps the
// region removed, with the reason on the region (`awaitingSync`) and on the incident (`sync_check`).
//
// Manual drain is an overlay, not a health state: a drained region has weight 0 until restored, while
// its probes keep driving the health machine so that a restore lands on its true state.

export type HealthState = "healthy" | "suspect" | "anti_flap" | "removed" | "recovering";
export type RoutingState = HealthState | "drained";
export type MachineConfig = Pick<HealthTimings, "failuresToRemove" | "antiFlapMs" | "recoveryWeight" | "fullWeightAfterMs">;

export interface RegionRecord {
  health: HealthState;
  drained: boolean;
  consecutiveFailures: number;
  lastProbeAt: number | null;
  lastOkAt: number | null;
  lastError: string | null;
  latencyMs: number | null;
  /** When `health` last changed. */
  since: number;
  /** First failure of the current streak (null while probes succeed). */
  failingSince: number | null;
  /** When the streak reached `failuresToRemove`, i.e. the anti-flap wait started. */
  thresholdAt: number | null;
  /** While recovering: when the error-free timer (re)started; null otherwise. */
  recoveringSince: number | null;
  /** The open incident while removed/recovering. */
  incidentId: string | null;
  /** Latest request error reported while recovering (restarts the error-free timer). */
  lastRequestErrorAt: number | null;
  /** Removed, probes ok, but the global tables are not in sync yet: why it stays out (null otherwise). */
  awaitingSync: string | null;
}

/** Outcome of the step-8 sync check made for a removed region whose probe succeeded. */
export interface SyncVerdict {
  in_sync: boolean;
  /** Human-readable: the mismatching tables, or why the check could not run. */
  detail: string;
}

export type { AlertPayload, Incident } from "./incident.ts";

export interface HealthEvent {
  at: number;
  region: Region;
  from: RoutingState;
  to: RoutingState;
  weight: number;
  reason: string;
  incident_id?: string;
}

export interface MachineState {
  regions: Record<Region, RegionRecord>;
  incidents: Incident[];
  events: HealthEvent[];
  updatedAt: number;
}

export type MachineEvent =
  /** `sync`: the step-8 check, made by the caller when the region is removed (absent: no check made). */
  | { type: "probe_ok"; region: Region; at: number; latencyMs?: number; sync?: SyncVerdict }
  | { type: "probe_fail"; region: Region; at: number; latencyMs?: number; error?: string }
  | { type: "tick"; at: number }
  | { type: "drain" | "restore"; region: Region; at: number }
  /** An edge → origin request failed (5xx, timeout); only matters while the region is recovering. */
  | { type: "request_error"; region: Region; at: number; error?: string }
  /** What became of an alert the machine asked for (edge/region-health.ts delivers them). */
  | ({ type: "alert_result"; at: number } & AlertResult);

export const MAX_EVENTS = 200;
export const MAX_INCIDENTS = 50;

export function initialState(at: number): MachineState {
  const rec = (): RegionRecord => ({
    health: "healthy", drained: false, consecutiveFailures: 0, lastProbeAt: null, lastOkAt: null, lastError: null,
    latencyMs: null, since: at, failingSince: null, thresholdAt: null, recoveringSince: null, incidentId: null,
    lastRequestErrorAt: null, awaitingSync: null,
  });
  return { regions: { us: rec(), eu: rec(), apac: rec() }, incidents: [], events: [], updatedAt: at };
}

/** Routing weight in [0, 1]: 0 = out of rotation, recovery weight while recovering, 1 otherwise. */
export function weightOf(r: RegionRecord, cfg: Pick<MachineConfig, "recoveryWeight">): number {
  if (r.drained || r.health === "removed") return 0;
  return r.health === "recovering" ? cfg.recoveryWeight : 1;
}

export function routingState(r: RegionRecord): RoutingState {
  return r.drained ? "drained" : r.health;
}

/**
 * Degradation level per region: one region out of rotation → 4 for its users (reads fail over);
 * two or more out (at most one left) → 5 everywhere (emergency pages). Same rule as edge/routing.ts.
 */
export function levelsOf(s: MachineState, cfg: Pick<MachineConfig, "recoveryWeight">): { level: number; levels: Record<Region, number> } {
  const out = REGION_VALUES.filter((r) => weightOf(s.regions[r], cfg) === 0);
  const levels = { us: 0, eu: 0, apac: 0 } as Record<Region, number>;
  for (const r of REGION_VALUES) levels[r] = out.length >= 2 ? 5 : out.includes(r) ? 4 : 0;
  return { level: Math.max(...Object.values(levels)), levels };
}

// Mutable working copy for one step; `step` clones its input first so callers keep immutability.
interface Ctx {
  s: MachineState;
  cfg: MachineConfig;
  emitted: HealthEvent[];
  alerts: AlertPayload[];
}

function emit(c: Ctx, region: Region, from: RoutingState, at: number, reason: string): void {
  const r = c.s.regions[region];
  const e: HealthEvent = { at, region, from, to: routingState(r), weight: weightOf(r, c.cfg), reason };
  if (r.incidentId) e.incident_id = r.incidentId;
  c.emitted.push(e);
}

function move(c: Ctx, region: Region, to: HealthState, at: number, reason: string): void {
  const r = c.s.regions[region];
  const from = routingState(r);
  r.health = to;
  r.since = at;
  emit(c, region, from, at, reason);
}

function incident(c: Ctx, region: Region): Incident | undefined {
  const id = c.s.regions[region].incidentId;
  return id ? c.s.incidents.find((i) => i.id === id) : undefined;
}

function alert(c: Ctx, inc: Incident, type: AlertType, at: number): void {
  c.alerts.push(queueAlert(inc, type, at));
}

function remove(c: Ctx, region: Region, at: number, reason: string): void {
  const r = c.s.regions[region];
  r.recoveringSince = null;
  const open = incident(c, region);
  if (open) {
    // Removed again while recovering: same incident, on-call was already paged for it.
    open.last_error = r.lastError;
    open.removed_at = at;
  } else {
    r.incidentId = `inc-${region}-${at.toString(36)}-${c.s.incidents.length}`;
    const inc = newIncident(r.incidentId, region, at, r);
    c.s.incidents.push(inc);
    alert(c, inc, "region_down", at);
  }
  move(c, region, "removed", at, reason);
}

// Time-driven transitions: the end of the anti-flap wait and the end of the recovery ramp.
function deadlines(c: Ctx, region: Region, at: number): void {
  const r = c.s.regions[region];
  if (r.health === "anti_flap" && r.thresholdAt !== null && at >= r.thresholdAt + c.cfg.antiFlapMs) {
    remove(c, region, at, `still failing ${c.cfg.antiFlapMs} ms after ${c.cfg.failuresToRemove} consecutive failures`);
  }
  if (r.health === "recovering" && r.recoveringSince !== null && at >= r.recoveringSince + c.cfg.fullWeightAfterMs) {
    const inc = incident(c, region);
    if (inc) {
      inc.status = "resolved";
      inc.resolved_at = at;
      alert(c, inc, "region_recovered", at);
    }
    r.recoveringSince = null;
    move(c, region, "healthy", at, `no error for ${c.cfg.fullWeightAfterMs} ms at recovery weight: full weight, incident resolved`);
    r.incidentId = null;
  }
}

function probeFailed(c: Ctx, region: Region, at: number, error: string, latencyMs: number | null): void {
  const r = c.s.regions[region];
  r.lastProbeAt = at;
  r.lastError = error;
  r.latencyMs = latencyMs;
  r.consecutiveFailures++;
  r.failingSince ??= at;
  r.awaitingSync = null;
  const n = r.consecutiveFailures;
  if ((r.health === "healthy" || r.health === "suspect") && n >= c.cfg.failuresToRemove) {
    r.thresholdAt = at;
    move(c, region, "anti_flap", at, `${n} consecutive failures: waiting ${c.cfg.antiFlapMs} ms before removal (${error})`);
  } else if (r.health === "healthy") {
    move(c, region, "suspect", at, `probe failed (${error})`);
  } else if (r.health === "recovering") {
    remove(c, region, at, `probe failed during recovery (${error})`);
  } else if (r.health === "removed") {
    const open = incident(c, region);
    if (open) open.last_error = error;
  }
}

function probeOk(c: Ctx, region: Region, at: number, latencyMs: number | null, sync: SyncVerdict | undefined): void {
  const r = c.s.regions[region];
  r.lastProbeAt = at;
  r.lastOkAt = at;
  r.latencyMs = latencyMs;
  r.consecutiveFailures = 0;
  r.failingSince = null;
  r.thresholdAt = null;
  if (r.health === "suspect") move(c, region, "healthy", at, "probe ok");
  else if (r.health === "anti_flap") move(c, region, "healthy", at, "probe ok during anti-flap wait: removal cancelled");
  else if (r.health === "removed") {
    const inc = incident(c, region);
    if (sync && inc) inc.sync_check = { at, in_sync: sync.in_sync, detail: sync.detail };
    if (sync && !sync.in_sync) {
      // Step 8: stays out until the global tables agree; logged once per distinct reason.
      if (r.awaitingSync !== sync.detail) emit(c, region, routingState(r), at, `probe ok, not re-added: global tables not in sync (${sync.detail})`);
      r.awaitingSync = sync.detail;
      return;
    }
    r.awaitingSync = null;
    r.recoveringSince = at;
    if (inc) inc.recovering_at = at;
    move(c, region, "recovering", at, `probe ok${sync ? `, ${sync.detail}` : ""}: re-added at weight ${c.cfg.recoveryWeight}`);
  }
}

// A request error restarts the recovery ramp's error-free timer; ignored in every other state (probes
// alone decide removal) and when it happened before the current ramp began (a late report).
function requestError(c: Ctx, region: Region, at: number, error: string | undefined): void {
  const r = c.s.regions[region];
  if (r.health !== "recovering" || r.recoveringSince === null || at < r.recoveringSince) return;
  r.recoveringSince = at;
  r.lastRequestErrorAt = at;
  const inc = incident(c, region);
  if (inc) {
    inc.request_errors++;
    inc.last_request_error_at = at;
    if (error) inc.last_error = error;
  }
}

function trim(s: MachineState): void {
  if (s.events.length > MAX_EVENTS) s.events = s.events.slice(-MAX_EVENTS);
  // Drop the oldest resolved incidents first: an open one must stay while its region is out.
  while (s.incidents.length > MAX_INCIDENTS) {
    const i = s.incidents.findIndex((x) => x.status === "resolved");
    s.incidents.splice(i >= 0 ? i : 0, 1);
  }
}

/** True when a request error for `region` at `at` would change anything (the DO skips the write otherwise). */
export function countsRequestError(s: MachineState, region: Region, at: number): boolean {
  const r = s.regions[region];
  return r.health === "recovering" && r.recoveringSince !== null && at >= r.recoveringSince;
}

export interface StepResult {
  state: MachineState;
  /** Transitions, in order (also appended to state.events). */
  emitted: HealthEvent[];
  /** Webhook bodies to deliver (already recorded as pending on their incident). */
  alerts: AlertPayload[];
}

/** Applies one event; returns the next state (the input is not modified), the transitions and alerts it caused. */
export function step(state: MachineState, event: MachineEvent, cfg: MachineConfig): StepResult {
  const c: Ctx = { s: structuredClone(state), cfg, emitted: [], alerts: [] };
  const { at } = event;
  switch (event.type) {
    case "probe_fail":
      probeFailed(c, event.region, at, event.error ?? "probe failed", event.latencyMs ?? null);
      deadlines(c, event.region, at);
      break;
    case "probe_ok":
      probeOk(c, event.region, at, event.latencyMs ?? null, event.sync);
      deadlines(c, event.region, at);
      break;
    case "tick":
      for (const region of REGION_VALUES) deadlines(c, region, at);
      break;
    case "drain":
    case "restore": {
      const r = c.s.regions[event.region];
      const drained = event.type === "drain";
      if (r.drained !== drained) {
        const from = routingState(r);
        r.drained = drained;
        emit(c, event.region, from, at, drained ? "drained by admin" : "restored by admin");
      }
      break;
    }
    case "request_error":
      requestError(c, event.region, at, event.error);
      deadlines(c, event.region, at);
      break;
    case "alert_result": {
      const inc = c.s.incidents.find((i) => i.id === event.incident_id);
      if (inc) recordAlertResult(inc, event, at);
      break;
    }
  }
  c.s.events.push(...c.emitted);
  c.s.updatedAt = Math.max(c.s.updatedAt, at);
  trim(c.s);
  return { state: c.s, emitted: c.emitted, alerts: c.alerts };
}

/** Upgrades a state persisted by an older version (fields added since default to null / empty). */
export function normalizeState(s: MachineState): MachineState {
  for (const region of REGION_VALUES) {
    s.regions[region].lastRequestErrorAt ??= null;
    s.regions[region].awaitingSync ??= null;
  }
  s.incidents = s.incidents.map(normalizeIncident);
  return s;
}
