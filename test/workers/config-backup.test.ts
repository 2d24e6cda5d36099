import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fetchConfigHistory, restoreConfig, type EdgeAdmin } from "../../scripts/backup/config-backup.ts";

// Config backups inside workerd, against the real edge admin API and KV: an exported version is restored
// by the edge's rollback while KV still keeps it, and re-applied through the admin endpoints after the
// KV history is lost (the restore test of the `config` backup kind).
const token = "test-admin-token-0123456789abcdef";
const admin: EdgeAdmin = { baseUrl: "http://edge", token, fetch: (url, init) => SELF.fetch(url, init) };
const post = (path: string, body: unknown) =>
  SELF.fetch(`http://edge${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
const liveTimings = async () => ((await (await SELF.fetch("http://edge/v1/status")).json()) as { region_health: { timings: { antiFlapMs: number } } }).region_health.timings.antiFlapMs;

describe("config backup and restore", () => {
  it("restores an exported version by rollback, and by re-applying it after the KV history is lost", async () => {
    expect((await post("/v1/admin/degradation", { region: "eu", level: 2 })).status).toBe(200);
    expect((await post("/v1/admin/region-health/timings", { antiFlapMs: 4321 })).status).toBe(200);
    const exported = await fetchConfigHistory(admin); // what the scheduler writes to <root>/config/<stamp>.json
    const target = exported[0];
    expect(target.config).toMatchObject({ forced_levels: { eu: 2 }, health_timings: { antiFlapMs: 4321 } });

    // A bad change, then the restore while KV still keeps the version: the edge's own rollback.
    expect((await post("/v1/admin/degradation", { region: "eu", level: null })).status).toBe(200);
    expect((await post("/v1/admin/region-health/timings", { antiFlapMs: 999 })).status).toBe(200);
    expect(await restoreConfig(admin, target)).toMatchObject({ how: "rollback" });
    let live = await fetchConfigHistory(admin);
    expect(live[0].change).toBe(`rollback to v${target.version}`);
    expect(live[0].config).toEqual(target.config);
    expect(await liveTimings()).toBe(4321);

    // KV lost: no history, no forced levels. The exported snapshot is re-applied and recorded anew.
    expect((await post("/v1/admin/region-health/timings", { antiFlapMs: 999 })).status).toBe(200);
    await env.FYP_KV.delete("config:history");
    await env.FYP_KV.put("admin:forced-levels", "{}");
    expect(await fetchConfigHistory(admin)).toEqual([]);
    expect(await restoreConfig(admin, target)).toMatchObject({ how: "reapplied" });
    live = await fetchConfigHistory(admin);
    expect(live[0].config.forced_levels).toEqual({ eu: 2 });
    expect(live[0].config.health_timings?.antiFlapMs).toBe(4321);
    expect(await liveTimings()).toBe(4321);

    expect((await post("/v1/admin/degradation", { region: "eu", level: null })).status).toBe(200);
    await expect(restoreConfig({ ...admin, token: "wrong-token-0123456789abcdefghij" }, target)).rejects.toThrow(/HTTP 403/);
  }, 60_000);
});
