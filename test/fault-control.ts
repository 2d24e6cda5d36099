import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultAction, Faults } from "../scripts/stack-faults.ts";
import { REGIONS, type Region } from "../shared/local-ports.ts";

// Test workers run in other processes than the global setup that owns the stack, so faults are
// requested over loopback HTTP: POST /fault {target, action, region?, vars?} → the real process is stopped,
// started (an origin with `vars` over the stack's), paused, resumed or (Postgres) killed. Used by test/e2e/support/faults.ts.
const TARGETS = ["redis", "postgres", "ranking", "origin"] as const;
const ACTIONS: FaultAction[] = ["stop", "start", "pause", "resume", "kill"];

export async function startFaultControl(faults: Faults): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      try {
        const { target, action, region, vars } = JSON.parse(body || "{}") as { target: string; action: FaultAction; region?: Region; vars?: Record<string, string> };
        if (req.method !== "POST" || req.url !== "/fault") throw new Error("POST /fault only");
        if (!TARGETS.includes(target as (typeof TARGETS)[number]) || !ACTIONS.includes(action)) throw new Error("bad target/action");
        if (region !== undefined && !REGIONS.includes(region)) throw new Error("bad region");
        if (vars !== undefined && (typeof vars !== "object" || vars === null || Object.values(vars).some((v) => typeof v !== "string"))) throw new Error("vars: an object of strings");
        await faults.apply(target as (typeof TARGETS)[number], action, region, vars);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
      } catch (e) {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: (e as Error).message }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
