import type { Region } from "../shared/regions.ts";

// Region incidents and the alerts they send (DESIGN.md §3 "Regions": "remove it … record an incident; …
// resolve the incident"; issue 12 item 6: page on-call through a webhook). Pure records and helpers, used
// by the failover machine (edge/region-health-machine.ts); delivery is edge/alert-webhook.ts.
//
// Lifecycle: opened `investigating` when the region is removed (a flap cancelled during the anti-flap wait
// is not an incident), stays `investigating` through the 10% ramp (a failure while recovering removes the
// region again under the same incident), `resolved` when the region is back at full weight. Opening sends
// a `region_down` alert, resolving a `region_recovered` one; each alert's delivery is recorded on the
// incident (pending → delivered | failed, or disabled when no webhook is configured).

export type IncidentStatus = "investigating" | "resolved";
export type AlertType = "region_down" | "region_recovered";
export type AlertOutcome = "pending" | "delivered" | "failed" | "disabled";

/** The webhook body, exactly as POSTed (edge/alert-webhook.ts). `at`: ms since the epoch. */
export interface AlertPayload {
  type: AlertType;
  region: Region;
  incident_id: string;
  title: string;
  at: number;
}

/** One alert of an incident and what became of its delivery. Times in ms since the epoch. */
export interface AlertRecord {
  type: AlertType;
  /** When the machine decided to send it (= the transition's time). */
  at: number;
  outcome: AlertOutcome;
  /** HTTP tries made (0 while pending or when disabled). */
  attempts: number;
  /** When delivery finished (delivered, failed or disabled); null while pending. */
  finished_at: number | null;
  /** The receiver's last HTTP status, if it answered at all. */
  http_status: number | null;
  error: string | null;
}

/** The result of one delivery, fed back into the machine as an `alert_result` event. */
export interface AlertResult {
  incident_id: string;
  alert_type: AlertType;
  outcome: Exclude<AlertOutcome, "pending">;
  attempts: number;
  http_status: number | null;
  error: string | null;
}

export interface Incident {
  id: string;
  region: Region;
  /** e.g. "Region eu unhealthy: 5 consecutive probe failures". */
  title: string;
  status: IncidentStatus;
  /** First failed probe of the streak that led to the removal. */
  detected_at: number;
  /** Failure threshold reached; anti-flap wait started. */
  threshold_at: number;
  /** When the incident was opened (= the first removal). */
  opened_at: number;
  /** Latest removal (a failure while recovering removes the region again). */
  removed_at: number;
  /** Latest re-add at recovery weight. */
  recovering_at: number | null;
  resolved_at: number | null;
  last_error: string | null;
  /** Request errors (edge → origin calls) seen while recovering; each restarted the error-free timer. */
  request_errors: number;
  last_request_error_at: number | null;
  /** The latest recovery step-8 check (global tables in sync?) made while the region was removed. */
  sync_check: { at: number; in_sync: boolean; detail: string } | null;
  alerts: AlertRecord[];
}

export function incidentTitle(region: Region, consecutiveFailures: number): string {
  const n = consecutiveFailures;
  return `Region ${region} unhealthy: ${n} consecutive probe failure${n === 1 ? "" : "s"}`;
}

/** A new incident for a region that was just removed (status investigating, no alert yet). */
export function newIncident(
  id: string, region: Region, at: number,
  streak: { consecutiveFailures: number; failingSince: number | null; thresholdAt: number | null; lastError: string | null },
): Incident {
  return {
    id, region, title: incidentTitle(region, streak.consecutiveFailures), status: "investigating",
    detected_at: streak.failingSince ?? at, threshold_at: streak.thresholdAt ?? at, opened_at: at, removed_at: at,
    recovering_at: null, resolved_at: null, last_error: streak.lastError, request_errors: 0, last_request_error_at: null, sync_check: null, alerts: [],
  };
}

/** Records a pending alert on the incident and returns the webhook body to send. */
export function queueAlert(inc: Incident, type: AlertType, at: number): AlertPayload {
  inc.alerts.push({ type, at, outcome: "pending", attempts: 0, finished_at: null, http_status: null, error: null });
  return { type, region: inc.region, incident_id: inc.id, title: inc.title, at };
}

/** Webhook bodies of every alert still pending (to re-send after a restart: delivery is at least once). */
export function pendingAlerts(s: { incidents: Incident[] }): AlertPayload[] {
  return s.incidents.flatMap((inc) =>
    inc.alerts.filter((a) => a.outcome === "pending").map((a) => ({ type: a.type, region: inc.region, incident_id: inc.id, title: inc.title, at: a.at })),
  );
}

/** Applies a delivery result to the oldest pending alert of that type; false when none matches. */
export function recordAlertResult(inc: Incident, r: AlertResult, at: number): boolean {
  const a = inc.alerts.find((x) => x.type === r.alert_type && x.outcome === "pending");
  if (!a) return false;
  Object.assign(a, { outcome: r.outcome, attempts: r.attempts, finished_at: at, http_status: r.http_status, error: r.error });
  return true;
}

/**
 * Upgrades an incident persisted before titles, alerts and request errors existed (status "open" is
 * now "investigating"), so a deploy does not lose the history the Durable Object already holds.
 */
export function normalizeIncident(raw: Incident | (Omit<Incident, "status"> & { status: string })): Incident {
  const i = raw as Partial<Incident> & Pick<Incident, "id" | "region" | "opened_at" | "removed_at">;
  return {
    ...i,
    title: i.title ?? `Region ${i.region} unhealthy`,
    status: i.status === "resolved" ? "resolved" : "investigating",
    detected_at: i.detected_at ?? i.opened_at, threshold_at: i.threshold_at ?? i.opened_at,
    recovering_at: i.recovering_at ?? null, resolved_at: i.resolved_at ?? null, last_error: i.last_error ?? null,
    request_errors: i.request_errors ?? 0, last_request_error_at: i.last_request_error_at ?? null, sync_check: i.sync_check ?? null, alerts: i.alerts ?? [],
  };
}
