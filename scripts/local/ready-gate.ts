// `npm start`'s readiness gate (new-user trial, task HB): "fyp-edge ready" is printed only once every
// regional origin answers its health route at degradation level 0, so a first request after "ready" gets
// the full service (personalised feed, writes applied at once) rather than level 3 (trending feed, writes
// 202 queued) while the start-up's slow samples still fill the origin's 60 s latency window.
// The thresholds are the production ones (origin/signals.ts, shared/degradation.ts): nothing is loosened
// for the local stack; the gate only waits.

/** One origin's answer as the gate sees it: its level (4 = unreachable) and why. */
export interface OriginReadiness {
  region: string;
  level: number;
  reasons: string[];
}

/** Default wait for level 0 everywhere (ms): a little more than one 60 s latency window. */
export const READY_TIMEOUT_MS = 90_000;
/** Default pause between two polls (ms). */
export const READY_POLL_MS = 1000;

/**
 * GET <originUrl>/internal/v1/health (x-internal-secret) once, 2 s timeout.
 * Returns { region, level: degradation_level, reasons }; an unreachable origin or a non-2xx answer is
 * level 4 with the error as its reason. Never throws.
 */
export async function pollOrigin(region: string, originUrl: string, internalSecret: string): Promise<OriginReadiness> {
  try {
    const r = await fetch(`${originUrl}/internal/v1/health`, { headers: { "x-internal-secret": internalSecret }, signal: AbortSignal.timeout(2000) });
    const body = (await r.json().catch(() => ({}))) as { degradation_level?: unknown; reasons?: unknown };
    if (!r.ok && typeof body.degradation_level !== "number") return { region, level: 4, reasons: [`health answered ${r.status}`] };
    const level = typeof body.degradation_level === "number" ? body.degradation_level : 4;
    return { region, level, reasons: Array.isArray(body.reasons) ? body.reasons.map(String) : [] };
  } catch (e) {
    return { region, level: 4, reasons: [`unreachable: ${(e as Error).message}`] };
  }
}

/** "us at level 3 (database p99 108.5 ms > 100 ms)"-style line for the origins not yet at level 0. */
export function describeWaiting(states: OriginReadiness[]): string {
  return states.filter((s) => s.level > 0).map((s) => `${s.region} at level ${s.level}${s.reasons.length ? ` (${s.reasons.join("; ")})` : ""}`).join(", ");
}

/**
 * Polls every origin until all answer level 0 or `timeoutMs` (ms) passes. Prints "waiting: …" through
 * `log` whenever the set of reasons changes. Resolves { ready, waitedMs, states } (the last poll);
 * ready = false after the timeout (the caller says so plainly rather than printing "ready").
 */
export async function waitForLevel0(
  origins: Record<string, string>, internalSecret: string,
  opts: { timeoutMs?: number; pollMs?: number; log?: (l: string) => void } = {},
): Promise<{ ready: boolean; waitedMs: number; states: OriginReadiness[] }> {
  const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS;
  const pollMs = opts.pollMs ?? READY_POLL_MS;
  const t0 = Date.now();
  let lastLine = "";
  for (;;) {
    const states = await Promise.all(Object.entries(origins).map(([r, u]) => pollOrigin(r, u, internalSecret)));
    const waitedMs = Date.now() - t0;
    if (states.every((s) => s.level === 0)) return { ready: true, waitedMs, states };
    const line = describeWaiting(states);
    if (line !== lastLine) opts.log?.(`      waiting (${(waitedMs / 1000).toFixed(0)} s): ${line}`);
    lastLine = line;
    if (waitedMs >= timeoutMs) return { ready: false, waitedMs, states };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Levels forced by an admin at the edge (KV: they outlive a restart of `npm start`), from
 * GET <edgeUrl>/v1/status → regions[r].forced_level; e.g. ["us forced to level 3 by admin"]. The origins
 * do not see them until a request carries them, so the gate above cannot; [] when none or unreadable.
 */
export async function forcedAtEdge(edgeUrl: string): Promise<string[]> {
  try {
    const r = await fetch(`${edgeUrl}/v1/status`, { signal: AbortSignal.timeout(3000) });
    const body = (await r.json()) as { regions?: Record<string, { forced_level?: unknown }> };
    return Object.entries(body.regions ?? {}).flatMap(([region, v]) => (typeof v.forced_level === "number" && v.forced_level > 0 ? [`${region} forced to level ${v.forced_level} by admin`] : []));
  } catch {
    return [];
  }
}
