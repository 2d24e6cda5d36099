import { inject } from "vitest";

// Ask the global setup (which owns the stack's processes) to really stop/start/pause/resume one, or to
// SIGKILL Postgres (postmaster and backends; "start" then runs crash recovery on the same data dir).
// `vars` (origin "start" only): worker vars that origin runs with from then on, over the stack's.
export async function fault(target: "redis" | "postgres" | "ranking" | "origin", action: "stop" | "start" | "pause" | "resume" | "kill", region?: string, vars?: Record<string, string>): Promise<void> {
  const res = await fetch(`${inject("stack").faultUrl}/fault`, { method: "POST", body: JSON.stringify({ target, action, region, vars }) });
  if (!res.ok) throw new Error(`fault ${target} ${action} ${region ?? ""}: ${await res.text()}`);
}
