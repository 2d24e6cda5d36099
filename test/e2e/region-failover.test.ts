import { afterAll, describe, expect, inject, it } from "vitest";
import { FeedResponseSchema } from "../../shared/contract.ts";
import { fault } from "./support/faults.ts";
import { waitFor } from "./support/pg.ts";
import { waitForFullWeight } from "./support/region-status.ts";

// Region outages with the real RegionHealth Durable Object (timings shrunk by the test stack's edge vars:
// probe 500 ms, 3 failures, anti-flap 1.5 s, 10% recovery, full weight after 4 s). An origin process is
// really stopped; the edge must keep answering 200 from another region (level 4), or from the emergency
// page when two regions are down (level 5), and restore routing gradually.
const stack = inject("stack");
type Snap = { regions: Record<string, { state: string; weight: number }>; incidents: { region: string; status: string; opened_at?: number; resolved_at?: number }[]; events: { region: string; to: string; at: number }[] };

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
    await snapshot(); // make sure the health object is probing
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
      expect(removed.incidents.some((i) => i.region === "eu" && i.status === "open")).toBe(true);
      const order = removed.events.filter((e) => e.region === "eu" && e.at >= t0).map((e) => e.to);
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
    expect(healthy.incidents.find((i) => i.region === "eu")?.status).toBe("resolved");
    console.log(`eu: restarted → full weight in ${Date.now() - t1} ms`);
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
