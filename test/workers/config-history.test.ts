import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

// Admin config history inside workerd: every change is a version, the newest 100 are kept, and a
// rollback re-applies an old version (recorded as a new one).
const admin = { authorization: "Bearer test-admin-token-0123456789abcdef", "content-type": "application/json" };
const post = (path: string, body: unknown) => SELF.fetch(`http://edge${path}`, { method: "POST", headers: admin, body: JSON.stringify(body) });
type Version = { version: number; change: string; config: { forced_levels: Record<string, number>; health_timings: Record<string, number> | null } };
const history = async () => ((await (await SELF.fetch("http://edge/v1/admin/config/history", { headers: admin })).json()) as { versions: Version[] }).versions;

describe("config history", () => {
  it("records each change, keeps the newest 100, and rolls back to a kept version", async () => {
    expect((await post("/v1/admin/degradation", { region: "eu", level: 2 })).status).toBe(200);
    const v1 = (await history())[0];
    expect(v1.config.forced_levels).toEqual({ eu: 2 });
    for (let i = 0; i < 104; i++) expect((await post("/v1/admin/region-health/timings", { antiFlapMs: 1000 + i })).status).toBe(200);
    const all = await history();
    expect(all).toHaveLength(100);
    expect(all[0].version).toBe(v1.version + 104);
    expect(all[0].config.health_timings?.antiFlapMs).toBe(1103);
    expect(all[0].config.forced_levels).toEqual({ eu: 2 }); // snapshots carry the whole config
    expect(all.some((v) => v.version === v1.version)).toBe(false); // the oldest fell off

    expect((await post("/v1/admin/degradation", { region: "eu", level: null })).status).toBe(200);
    const target = all[50];
    const rb = await post("/v1/admin/config/rollback", { version: target.version });
    expect(rb.status).toBe(200);
    const after = await history();
    expect(after[0].change).toBe(`rollback to v${target.version}`);
    expect(after[0].config).toEqual(target.config);
    expect(after[0].config.forced_levels).toEqual({ eu: 2 });
    const status = (await (await SELF.fetch("http://edge/v1/status")).json()) as { region_health: { timings: { antiFlapMs: number } } };
    expect(status.region_health.timings.antiFlapMs).toBe(target.config.health_timings?.antiFlapMs);

    expect((await post("/v1/admin/config/rollback", { version: 1 })).status).toBe(404);
    expect((await post("/v1/admin/config/rollback", { version: "x" })).status).toBe(400);
  }, 60_000);
});
