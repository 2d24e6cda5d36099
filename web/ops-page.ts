import { AdminClient, type AdminResult } from "../shared/client/admin-client.ts";
import { sampleOf, StatusHistory } from "../shared/client/status-history.ts";
import { statusView, type StatusView } from "../shared/client/status-view.ts";
import { renderCache, renderDeadLetters, renderHealthEvents, renderIncidents, renderRegions } from "./ops-render.ts";
import { legendHtml, type Series, sparklineSvg } from "./sparkline.ts";

// The ops dashboard (GET /ops): polls GET /v1/status every 2 s, draws the last minutes as sparklines,
// and offers the admin actions. The admin token stays in sessionStorage (this tab only).

const POLL_MS = 2000;
const TOKEN_KEY = "fyp-admin-token";
const COLORS: Record<string, string> = { us: "#8ab4f8", eu: "#3ddc84", apac: "#ffb300" };
const colorOf = (r: string, i: number) => COLORS[r] ?? ["#c58af9", "#ff5252", "#9aa0a6"][i % 3];

const $ = (id: string) => document.getElementById(id)!;
const tokenInput = $("admin-token") as HTMLInputElement;
tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
tokenInput.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));

const client = new AdminClient({ baseUrl: location.origin, token: () => tokenInput.value.trim() || null });
const history = new StatusHistory();

function drawCharts(now: number): void {
  const regions = history.regions();
  const per = (metric: "level" | "latencyMs"): Series[] =>
    regions.map((r, i) => ({ name: r, color: colorOf(r, i), points: history.series(metric, r) }));
  const level = per("level");
  const latency = per("latencyMs");
  // The x axis grows with the data up to the 5-minute window, so a fresh dashboard is not a sliver.
  const w = history.span(now);
  $("spark-level").innerHTML = sparklineSvg(level, { yMin: 0, yMax: 5, windowMs: w, now, step: true }) + legendHtml(level);
  $("spark-latency").innerHTML = sparklineSvg(latency, { windowMs: w, now, format: (v) => `${Math.round(v)} ms` }) + legendHtml(latency);
  const hit: Series[] = [{ name: "hit rate", color: "#c58af9", points: history.hitRateSeries() }];
  $("spark-hit-rate").innerHTML = sparklineSvg(hit, { yMin: 0, yMax: 1, windowMs: w, now, format: (v) => `${Math.round(v * 100)}%` });
}

function render(v: StatusView): void {
  renderRegions($("regions"), v);
  renderCache($("edge-cache") as HTMLTableElement, v);
  renderIncidents($("incidents") as HTMLTableElement, v);
  renderHealthEvents($("health-events") as HTMLTableElement, v);
  renderDeadLetters($("dead-letters") as HTMLTableElement, v);
  $("dead-letter-count").textContent = v.deadLetters.count === null ? "?" : String(v.deadLetters.count);
  $("edge-hit-rate").textContent = v.hitRate === null ? "–" : `${(v.hitRate * 100).toFixed(1)}%`;
  $("status-updated").textContent = v.generatedAt ? new Date(v.generatedAt).toLocaleTimeString() : new Date().toLocaleTimeString();
}

async function poll(): Promise<void> {
  const now = Date.now();
  try {
    const v = statusView(await client.status());
    history.add(sampleOf(v, now));
    render(v);
    $("status-error").hidden = true;
    document.body.dataset.polls = String(Number(document.body.dataset.polls ?? 0) + 1);
  } catch (e) {
    // Keep the last picture on screen and say it is stale; the next poll may succeed.
    const err = $("status-error");
    err.hidden = false;
    err.textContent = `status unavailable: ${(e as Error).message}`;
  }
  drawCharts(now);
}

// A chain of timeouts rather than setInterval: a slow /v1/status (an origin timing out) never stacks polls.
async function loop(): Promise<void> {
  await poll();
  setTimeout(() => void loop(), POLL_MS);
}

function show(action: string, r: AdminResult): void {
  const out = $("admin-result");
  out.dataset.ok = String(r.ok);
  out.textContent = `${action}: ${r.status || "network error"}\n${JSON.stringify(r.body, null, 2)}`;
}

function act(button: string, name: string, f: () => Promise<AdminResult>): void {
  const b = $(button) as HTMLButtonElement;
  b.addEventListener("click", async () => {
    if (!tokenInput.value.trim()) {
      show(name, { ok: false, status: 0, body: "enter the admin token first" });
      return;
    }
    b.disabled = true;
    try {
      show(name, await f());
      await poll(); // reflect the change now rather than up to 2 s later
    } finally {
      b.disabled = false;
    }
  });
}

const region = () => ($("admin-region") as HTMLSelectElement).value;
act("force-level", "force level", () => client.forceLevel(region(), Number(($("admin-level") as HTMLSelectElement).value)));
act("release-level", "release level", () => client.forceLevel(region(), null));
act("drain-region", "drain", () => client.drain(region()));
act("restore-region", "restore", () => client.restore(region()));
act("prewarm", "pre-warm", () => client.prewarm());

void loop();
