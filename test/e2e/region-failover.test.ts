import { afterAll, describe, expect, inject, it } from "vitest";
import { FeedResponseSchema } from "../../shared/contract.ts";
import type { Incident } from "../../edge/incident.ts";
import type { ReceivedAlert } from "./support/alert-receiver.ts";
import { launchBrowser, newPage, screenshot } from "./support/browser.ts";
import { fault } from "./support/faults.ts";
import { waitFor } from "./support/pg.ts";
import { waitForFullWeight } from "./support/region-status.ts";

// Region outages with the real RegionHealth Durable Object (timings shrunk by the test stack's edge vars:
// probe 500 ms, 3 failures, anti-flap 1.5 s, 10% recovery, full weight after 4 s). An origin process is
// really stopped; the edge must keep answering 200 from another region (level 4), or from the emergency
// page when two regions are down (level 5), and restore routing gradually. On-call is paged through the
// ALERT_WEBHOOK_URL the global setup points at a local receiver (test/e2e/support/alert-receiver.ts).
const stack = inject("stack");
type Snap = {
  regions: Record<string, { state: string; weight: number; lastProbeAt: number | null }>;
  incidents: Incident[];
  events: { region: string; to: string; at: number }[];
  alerting: { webhook: string };
  timings: { probeIntervalMs: number };
};
const received = async () => (await (await fetch(`${stack.alertsUrl}/received`)).json()) as ReceivedAlert[];
const failNextAlerts = (n: number) => fetch(`${stack.alertsUrl}/control`, { method: "POST", body: JSON.stringify({ failNext: n }) });

async function snapshot(): Promise<Snap> {
  const s = (await (await fetch(`${stack.edgeUrl}/v1/status`)).json()) as { region_health: Snap };
  return s.region_health;
}

async function feed(region: string, count: number) {
  const r = await fetch(`${stack.edgeUrl}/v1/feed?count=${count}&region=${region}`);
  expect(r.status).toBe(200);
  return { body: FeedResponseSchema.parse(await r.json()), servedBy: r.headers.get("x-region") };
}

afterAll(async () => {
  for (const r of ["us", "eu", "apac"]) await fault("origin", "start", r).catch(() => {});
  // Leave every region back at full weight for the next test file.
  await waitForFullWeight(stack.edgeUrl);
});

describe("region failover", () => {
  it("one region down: removed after 3 failures + anti-flap, reads fail over (level 4), then 10% → full weight", async () => {
    expect((await snapshot()).alerting).toEqual({ webhook: "configured" }); // also makes sure the object is probing
    await failNextAlerts(1); // the pager answers the first try with a 503: delivery must retry
    // The order below is judged from a healthy start: a probe that timed out under the earlier files' load
    // leaves eu "suspect" (at full weight) until its next good probe, and its suspect step would predate t0.
    await waitFor(async () => (await snapshot()).regions.eu.state === "healthy", 30_000, "eu healthy before the stop");
    const t0 = Date.now();
    await fault("origin", "stop", "eu");
    let n = 11;
    try {
      // While detection runs, reads still answer (retry → another region or trending), never 5xx.
      const removed = await waitFor(async () => {
        await feed("eu", n++ % 50 || 11);
        const s = await snapshot();
        return s.regions.eu.state === "removed" ? s : null;
      }, 30_000, "eu removed");
      const detectMs = Date.now() - t0;
      expect(removed.regions.eu.weight).toBe(0);
      const inc = removed.incidents.find((i) => i.region === "eu" && i.status === "investigating")!;
      expect(inc.title).toMatch(/^Region eu unhealthy: \d+ consecutive probe failures$/);
      expect(inc.detected_at).toBeLessThanOrEqual(inc.threshold_at);
      expect(inc.removed_at - inc.threshold_at).toBeGreaterThanOrEqual(1500); // the stack's anti-flap wait
      // Step 1, page on-call: the region_down body reached the pager, after one retry.
      const down = await waitFor(async () => (await received()).filter((a) => a.body.incident_id === inc.id && a.answered === 200)[0] ?? null, 20_000, "region_down delivered");
      expect(down.body).toEqual({ type: "region_down", region: "eu", incident_id: inc.id, title: inc.title, at: inc.removed_at });
      expect((await received()).filter((a) => a.body.incident_id === inc.id).map((a) => a.answered)).toEqual([503, 200]);
      const recorded = await waitFor(async () => {
        const a = (await snapshot()).incidents.find((i) => i.id === inc.id)?.alerts[0];
        return a?.outcome === "delivered" ? a : null;
      }, 10_000, "delivery recorded on the incident");
      expect(recorded).toMatchObject({ type: "region_down", attempts: 2, http_status: 200, error: null });
      // eu's transitions since it was last healthy (not since t0: a probe sent just before the stop fails
      // after it, and its "suspect" step is stamped with the probe's start, before t0).
      const euEvents = removed.events.filter((e) => e.region === "eu");
      const order = euEvents.slice(euEvents.findLastIndex((e) => e.to === "healthy") + 1).map((e) => e.to);
      expect(order).toEqual(["suspect", "anti_flap", "removed"]);
      const f = await feed("eu", 41);
      expect(f.servedBy).not.toBe("eu");
      expect(f.body.degradation_level).toBe(4);
      console.log(`eu: stopped → removed in ${detectMs} ms`);
    } finally {
      await fault("origin", "start", "eu");
    }
    const t1 = Date.now();
    const rec = await waitFor(async () => ((await snapshot()).regions.eu.state === "recovering" ? await snapshot() : null), 20_000, "eu recovering");
    expect(rec.regions.eu.weight).toBeCloseTo(0.1);
    const healthy = await waitFor(async () => {
      const s = await snapshot();
      return s.regions.eu.state === "healthy" && s.regions.eu.weight === 1 ? s : null;
    }, 20_000, "eu at full weight");
    const resolved = healthy.incidents.filter((i) => i.region === "eu").at(-1)!;
    expect(resolved.status).toBe("resolved");
    expect(resolved.resolved_at! - resolved.recovering_at!).toBeGreaterThanOrEqual(4000); // the stack's error-free time
    console.log(`eu: restarted → full weight in ${Date.now() - t1} ms`);
    const up = await waitFor(async () => (await received()).find((a) => a.body.incident_id === resolved.id && a.body.type === "region_recovered") ?? null, 20_000, "region_recovered delivered");
    expect(up.body).toEqual({ type: "region_recovered", region: "eu", incident_id: resolved.id, title: resolved.title, at: resolved.resolved_at });
    const alerts = await waitFor(async () => {
      const i = (await snapshot()).incidents.find((x) => x.id === resolved.id);
      return i && i.alerts.every((a) => a.outcome === "delivered") && i.alerts.length === 2 ? i.alerts : null;
    }, 10_000, "both alerts recorded as delivered");
    expect(alerts.map((a) => a.type)).toEqual(["region_down", "region_recovered"]);
  });

  it("the ops page lists the incident: title, status, steps, alert deliveries", async () => {
    const inc = (await snapshot()).incidents.filter((i) => i.region === "eu").at(-1);
    expect(inc?.status).toBe("resolved");
    const browser = await launchBrowser();
    try {
      const page = await newPage(browser);
      await page.goto(`${stack.webUrl}/ops`, { waitUntil: "domcontentloaded" });
      const title = inc!.title;
      await page.waitForFunction((t) => document.getElementById("incidents")?.textContent?.includes(t), title, { timeout: 15_000 });
      const row = await page.$$eval("#incidents tr", (rows, t) => rows.map((r) => [...(r as HTMLTableRowElement).cells].map((c) => c.textContent ?? "")).find((c) => c[0] === t), title);
      expect(row?.[1]).toBe("resolved");
      expect(row?.[2]).toMatch(/^detected .+ · removed .+ · 10% .+ · resolved .+$/);
      expect(row?.[3]).toBe("region_down delivered (2 tries) · region_recovered delivered (1 try)");
      await screenshot(page, "ops-incident", { fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it("probes on a fixed grid: every round is stamped with a slot of the probe interval", async () => {
    const stamps = new Set<number>();
    const interval = (await snapshot()).timings.probeIntervalMs;
    for (let i = 0; i < 8; i++) {
      const t = (await snapshot()).regions.us.lastProbeAt;
      if (t !== null) stamps.add(t);
      await new Promise((r) => setTimeout(r, 400));
    }
    const sorted = [...stamps].sort((a, b) => a - b);
    expect(sorted.length).toBeGreaterThanOrEqual(3);
    for (const t of sorted) expect((t - sorted[0]) % interval).toBe(0);
  });

  it("two regions down: level 5, the feed answers from the emergency page; back to normal afterwards", async () => {
    await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}` } });
    await fault("origin", "stop", "us");
    await fault("origin", "stop", "apac");
    try {
      const f = await waitFor(async () => {
        const r = await feed("us", 13);
        return r.body.degradation_level === 5 ? r : null;
      }, 30_000, "level 5");
      expect(f.body.source).toBe("emergency");
      expect(f.body.items.length).toBeGreaterThan(0);
    } finally {
      await fault("origin", "start", "us");
      await fault("origin", "start", "apac");
    }
    await waitFor(async () => (await feed("us", 14)).body.degradation_level < 5, 30_000, "out of level 5");
  });
});
