// Config backups (the `config` kind): the edge keeps the newest 100 versions of the admin config in KV
// (edge/config-history.ts). This reads that history through the admin API (the export the scheduler
// writes to disk, and what `--list` shows) and restores a version: by the edge's own rollback while the
// version is still kept in KV, otherwise (KV lost or the version aged out) by re-applying the exported
// snapshot through the ordinary admin endpoints, which records it as a new version.
// Web APIs only (fetch, AbortSignal): runs in Node and, for its test, inside workerd.
import type { ConfigVersion } from "../../edge/config-history.ts";

export interface EdgeAdmin {
  /** Edge base URL, e.g. http://127.0.0.1:8787. */
  baseUrl: string;
  /** ADMIN_TOKEN. */
  token: string;
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  /** Per-request timeout (ms). Default 5000. */
  timeoutMs?: number;
}

const REGIONS = ["us", "eu", "apac"] as const;

async function call(a: EdgeAdmin, path: string, body?: unknown): Promise<unknown> {
  const f = a.fetch ?? fetch;
  const res = await f(`${a.baseUrl}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${a.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(a.timeoutMs ?? 5000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** The kept config versions, newest first. Rejects when the edge is unreachable or refuses the token. */
export async function fetchConfigHistory(a: EdgeAdmin): Promise<ConfigVersion[]> {
  return ((await call(a, "/v1/admin/config/history")) as { versions: ConfigVersion[] }).versions;
}

/**
 * Makes `target` the live config. Returns how: "rollback" (still in KV: the edge re-applies it) or
 * "reapplied" (forced levels and failover timings set one by one from the snapshot). Failover timings
 * that were at their defaults (null) in the snapshot are left as they are. Rejects on HTTP errors.
 */
export async function restoreConfig(a: EdgeAdmin, target: ConfigVersion): Promise<{ how: "rollback" | "reapplied"; version: number }> {
  const live = await fetchConfigHistory(a);
  if (live.some((v) => v.version === target.version && JSON.stringify(v.config) === JSON.stringify(target.config))) {
    const entry = (await call(a, "/v1/admin/config/rollback", { version: target.version })) as ConfigVersion;
    return { how: "rollback", version: entry.version };
  }
  const current = live[0]?.config.forced_levels ?? {};
  for (const region of REGIONS) {
    const want = target.config.forced_levels[region] ?? null;
    if ((current[region] ?? null) !== want) await call(a, "/v1/admin/degradation", { region, level: want });
  }
  if (target.config.health_timings) await call(a, "/v1/admin/region-health/timings", target.config.health_timings);
  const after = await fetchConfigHistory(a);
  return { how: "reapplied", version: after[0]?.version ?? 0 };
}
