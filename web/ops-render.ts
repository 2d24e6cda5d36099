import { flatten, type RegionView, type StatusView } from "../shared/client/status-view.ts";

// Renders a normalised /v1/status into the ops page. Everything from the payload is written with
// textContent (error messages and reasons are free text); ids are stable (#level-us, #health-us…)
// because the browser tests and operators' scripts address them.

const h = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

const pct = (v: number | null) => (v === null ? "–" : `${(v * 100).toFixed(1)}%`);
const ms = (v: number | null) => (v === null ? "–" : `${Math.round(v)} ms`);
const when = (v: unknown) => (typeof v === "number" ? new Date(v).toLocaleTimeString() : "–");

function kvRows(table: HTMLTableElement, rows: ReadonlyArray<readonly [string, string]>): void {
  table.replaceChildren(...rows.map(([k, v]) => {
    const tr = h("tr");
    tr.append(h("td", {}, k), h("td", {}, v));
    return tr;
  }));
}

function regionCard(r: RegionView): HTMLElement {
  const card = h("article", { class: "region", id: `region-${r.region}` });
  const title = h("h2");
  title.append(
    h("span", {}, r.region.toUpperCase()),
    h("span", { class: "level", id: `level-${r.region}`, "data-level": String(r.level ?? "") }, r.level === null ? "?" : String(r.level)),
    h("span", { class: "muted", id: `forced-${r.region}` }, r.forcedLevel === null ? "automatic" : `forced ${r.forcedLevel}`),
  );
  const state = r.health?.state ?? "unknown";
  const rows: Array<[string, string]> = [
    ["health", `${state}${r.health?.drained ? " (drained)" : ""}`],
    ["weight / share", r.health ? `${r.health.weight ?? "–"} / ${pct(r.health.share)}` : "–"],
    ["serving from", r.servingFrom ?? "–"],
    ["origin", r.reachable === null ? "–" : r.reachable ? "reachable" : "unreachable"],
    ["origin latency", ms(r.latencyMs)],
    ["failures in a row", String(r.health?.consecutiveFailures ?? "–")],
  ];
  if (r.health?.lastError) rows.push(["last error", r.health.lastError]);
  // The read split (a recovering region serves a tenth of its reads; the rest go elsewhere at level 4).
  if (r.reads.length > 1) rows.push(["reads", r.reads.map((x) => `${x.region} ${pct(x.share)} @ ${x.level}`).join(" · ")]);
  // Catalogue replication lag of the flows into this region (seconds; /v1/status regions.<r>.origin.replication).
  const lag = (r.origin.replication as { lag_s?: Record<string, unknown> } | undefined)?.lag_s ?? {};
  for (const [from, v] of Object.entries(lag)) rows.push([`replication lag ${from} → ${r.region}`, typeof v === "number" ? `${v.toFixed(2)} s` : "–"]);
  const table = h("table", { class: "kv" });
  kvRows(table, rows);
  // Stable hooks for tests / scripts, on the value cells.
  table.rows[0].cells[1].id = `health-${r.region}`;
  table.rows[0].cells[1].className = `state-${state}`;
  table.rows[1].cells[1].id = `weight-${r.region}`;
  table.rows[4].cells[1].id = `latency-${r.region}`;
  // The origin's own payload (breakers, dependencies, caches, reasons…): whatever keys it has.
  const details = h("details", { id: `origin-${r.region}` });
  details.append(h("summary", {}, "origin health payload"));
  const ot = h("table", { class: "kv" });
  kvRows(ot, flatten(r.origin).filter(([k]) => k !== "reachable" && k !== "latency_ms"));
  details.append(ot);
  card.append(title, table, details);
  return card;
}

export function renderRegions(container: HTMLElement, v: StatusView): void {
  // Keep each region's <details> open state across the 2-second refreshes.
  const open = new Set([...container.querySelectorAll("details[open]")].map((d) => d.id));
  container.replaceChildren(...v.regions.map(regionCard));
  for (const id of open) document.getElementById(id)?.setAttribute("open", "");
}

export function renderCache(table: HTMLTableElement, v: StatusView): void {
  const rows = Object.entries(v.cache).map(([k, x]): [string, string] => [k, k === "hit_rate" ? pct(typeof x === "number" ? x : null) : String(x)]);
  kvRows(table, rows.length ? rows : [["cache", "no counters reported"]]);
}

function listTable(table: HTMLTableElement, head: string[], rows: string[][], empty: string): void {
  const thead = h("tr");
  thead.append(...head.map((x) => h("th", {}, x)));
  const body = rows.length ? rows : [[empty]];
  table.replaceChildren(thead, ...body.map((r) => {
    const tr = h("tr");
    tr.append(...r.map((x) => h("td", {}, x)));
    return tr;
  }));
}

// "detected 12:00:10 · removed 12:00:40 · 10% 12:03:10 · resolved 12:08:10": the procedure's steps, and
// the request errors that restarted the 10% ramp's error-free timer.
function incidentSteps(i: Record<string, unknown>): string {
  const steps: Array<[string, unknown]> = [["detected", i.detected_at], ["removed", i.removed_at], ["10%", i.recovering_at], ["resolved", i.resolved_at]];
  const text = steps.filter(([, t]) => typeof t === "number").map(([k, t]) => `${k} ${when(t)}`);
  const errors = typeof i.request_errors === "number" ? i.request_errors : 0;
  if (errors > 0) text.push(`${errors} request error${errors === 1 ? "" : "s"} at 10%`);
  return text.join(" · ");
}

// "region_down delivered (1 try) · region_recovered pending": each page sent for the incident.
function incidentAlerts(i: Record<string, unknown>): string {
  const alerts = Array.isArray(i.alerts) ? (i.alerts as Record<string, unknown>[]) : [];
  if (alerts.length === 0) return "–";
  return alerts.map((a) => {
    const n = typeof a.attempts === "number" ? a.attempts : 0;
    const tries = n > 0 ? ` (${n} ${n === 1 ? "try" : "tries"})` : "";
    return `${String(a.type ?? "?")} ${String(a.outcome ?? "?")}${tries}${a.error ? `: ${String(a.error)}` : ""}`;
  }).join(" · ");
}

export function renderIncidents(table: HTMLTableElement, v: StatusView): void {
  const rows = [...v.incidents].reverse().slice(0, 30).map((i) => [
    String(i.title ?? `Region ${String(i.region ?? "?")}`), String(i.status ?? "?"), incidentSteps(i), incidentAlerts(i), String(i.last_error ?? ""),
  ]);
  listTable(table, ["incident", "status", "steps", "alerts", "last error"], rows, v.healthError ? `region health unavailable: ${v.healthError}` : "no incidents");
}

export function renderHealthEvents(table: HTMLTableElement, v: StatusView): void {
  const rows = [...v.events].reverse().slice(0, 30).map((e) => [
    when(e.at), String(e.region ?? "?"), `${String(e.from ?? "?")} → ${String(e.to ?? "?")}`, String(e.weight ?? ""), String(e.reason ?? ""),
  ]);
  listTable(table, ["at", "region", "transition", "weight", "reason"], rows, "no events yet");
}

export function renderDeadLetters(table: HTMLTableElement, v: StatusView): void {
  const rows = v.deadLetters.recent.map((l) => [when(l.parked_at), String(l.id ?? "?"), String(l.events ?? "?"), String(l.attempts ?? ""), String(l.reason ?? "")]);
  const empty = v.deadLetters.count === null ? "dead letters unavailable" : "none: every acknowledged event was delivered or is still queued";
  listTable(table, ["parked", "message", "events", "attempts", "reason"], rows, empty);
}
