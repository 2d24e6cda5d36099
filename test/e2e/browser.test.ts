import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { mintSessionToken } from "../../shared/auth.ts";
import type { FeedResponse } from "../../shared/contract.ts";
import { cardIds, launchBrowser, newPage, screenshot, scrollUntil } from "./support/browser.ts";
import { residentUser, waitFor, withRegionDb } from "./support/pg.ts";

// The web client (/) and the ops dashboard (/ops) in a real headless Chromium against the whole local
// stack: static assets from the edge, feed paging, events landing in the home region's database, the
// tier-1 IndexedDB cache, and the degradation levels as a user and an operator see them.
const stack = inject("stack");
const admin = { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}`, "content-type": "application/json" };
let browser: Browser;

async function force(region: string, level: number | null): Promise<void> {
  const res = await fetch(`${stack.edgeUrl}/v1/admin/degradation`, { method: "POST", headers: admin, body: JSON.stringify({ region, level }) });
  expect(res.status).toBe(200);
}

async function tokenFor(region: "us" | "eu" | "apac", offset: number): Promise<{ user: string; token: string }> {
  const user = await residentUser(stack.pgPort, region, offset);
  return { user, token: await mintSessionToken(stack.secrets.SESSION_SECRET, user, region) };
}

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe("web client", () => {
  it("is served by the pages worker: / and /ops as static assets, /v1/* and /emergency forwarded to the API worker, which has no pages", async () => {
    const home = await fetch(`${stack.webUrl}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('id="limited-banner"');
    const ops = await fetch(`${stack.webUrl}/ops`);
    expect(ops.status).toBe(200);
    expect(await ops.text()).toContain('id="regions"');
    expect((await fetch(`${stack.webUrl}/feed-page.js`)).headers.get("content-type")).toMatch(/javascript/);
    expect((await fetch(`${stack.webUrl}/v1/status`)).headers.get("content-type")).toMatch(/json/);
    expect(await (await fetch(`${stack.webUrl}/emergency?region=us`)).text()).toContain("emergency-banner");
    // The API worker serves no pages (no static-assets router in front of its cache HITs; issue 13).
    const apiHome = await fetch(`${stack.edgeUrl}/`);
    expect([apiHome.status, ((await apiHome.json()) as { error: { code: string } }).error.code]).toEqual([404, "not_found"]);
    // Pages keep the worker's HTTP contract (run_worker_first = true, edge/static-assets.ts).
    for (const path of ["/", "/ops", "/app.css"]) expect((await fetch(`${stack.webUrl}${path}`)).headers.get("x-request-id"), path).toBeTruthy();
    const redirect = await fetch(`${stack.webUrl}/index.html`, { redirect: "manual" });
    expect([redirect.status, redirect.headers.get("location"), !!redirect.headers.get("x-request-id")]).toEqual([307, "/", true]);
    const del = await fetch(`${stack.webUrl}/`, { method: "DELETE" });
    expect([del.status, del.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    expect(((await del.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
  });

  it("a token the edge refuses is named on the page, then the anonymous feed loads", async () => {
    const page = await newPage(browser);
    await page.goto(`${stack.webUrl}/#token=garbage.token.x`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#feed .card");
    expect(await page.textContent("#signin-refused")).toBe("the sign-in token was refused: invalid token");
    expect(await page.isVisible("#signin-refused")).toBe(true);
    expect(await page.textContent("#user")).toMatch(/anonymous/);
    expect(await page.evaluate(() => sessionStorage.getItem("fyp-token"))).toBeNull();
    await page.context().close();
  });

  it("loads the feed and keeps loading on scroll, never showing a video twice", async () => {
    const { token } = await tokenFor("us", 0);
    const page = await newPage(browser);
    await page.goto(`${stack.webUrl}/#token=${token}`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#feed .card");
    expect(page.url()).not.toContain("token="); // the token leaves the address bar
    const first = await cardIds(page);
    const ids = await scrollUntil(page, first.length + 15);
    expect(ids.length).toBeGreaterThan(first.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await page.textContent("#region")).toMatch(/^(us|eu|apac)$/);
    expect(await page.textContent("#level")).toMatch(/^[0-2]$/);
    expect(await page.isHidden("#limited-banner")).toBe(true);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "feed", { docs: true });
    await page.context().close();
  });

  it("anonymous visitors get the trending feed with likes disabled", async () => {
    const page = await newPage(browser);
    await page.goto(`${stack.webUrl}/?region=eu`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#feed .card");
    expect(await page.textContent("#user")).toMatch(/anonymous/);
    expect(await page.isDisabled("#feed .card .like >> nth=0")).toBe(true);
    await page.context().close();
  });

  it("a like and a view reach the user's home-region database (eu)", async () => {
    const { user, token } = await tokenFor("eu", 1);
    const page = await newPage(browser);
    await page.goto(`${stack.webUrl}/#token=${token}`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#feed .card .like:not([disabled])");
    const [liked] = await cardIds(page);
    await page.click(`#card-${liked} .like`);
    expect(await page.getAttribute(`#card-${liked} .like`, "aria-pressed")).toBe("true");
    await page.waitForTimeout(1300); // on screen ≥ 1 s → a view once it leaves
    await scrollUntil(page, 15); // the liked card leaves the screen upward
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const numeric = user.slice(1);
    const rows = await waitFor(
      () =>
        withRegionDb(stack.pgPort, "eu", async (c) => {
          const r = await c.query(`SELECT type, watch_ms FROM interactions WHERE user_id = $1 AND video_id = $2`, [numeric, liked.slice(1)]);
          const types = new Set(r.rows.map((x) => x.type as string));
          return types.has("like") && types.has("view") ? r.rows : null;
        }),
      30_000,
      "like + view rows in eu",
    );
    expect(rows.find((r) => r.type === "view")!.watch_ms).toBeGreaterThanOrEqual(1000);
    // Residency: nothing for this user in the other regions.
    for (const r of ["us", "apac"] as const) {
      const n = await withRegionDb(stack.pgPort, r, async (c) => (await c.query(`SELECT count(*)::int AS n FROM interactions WHERE user_id = $1`, [numeric])).rows[0].n);
      expect(n).toBe(0);
    }
    await waitFor(async () => (await page.getAttribute("#events-status", "data-pending")) === "0", 10_000, "queue drained in the page");
    await page.context().close();
  });

  it("a reload paints the tier-1 IndexedDB cache before the network answers, then refreshes", async () => {
    const { token } = await tokenFor("us", 2);
    const page = await newPage(browser);
    await page.goto(`${stack.webUrl}/#token=${token}`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#feed .card");
    const before = await cardIds(page);
    // Hold the feed request on the reload: whatever is on screen meanwhile came from IndexedDB.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let feedRequested = false;
    await page.route("**/v1/feed*", async (route) => {
      feedRequested = true;
      await held;
      await route.continue();
    });
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.waitForSelector('#feed .card[data-source="t1-cache"]');
    const cached = await cardIds(page);
    expect(cached).toEqual(before.slice(-50));
    expect(await page.$$eval('#feed .card:not([data-source="t1-cache"])', (x) => x.length)).toBe(0);
    await waitFor(async () => feedRequested, 5000, "the refresh request");
    release();
    await waitFor(async () => (await page.textContent("#source")) !== "t1-cache" && (await page.getAttribute("body", "data-phase")) !== "loading", 15_000, "network refresh");
    const after = await cardIds(page);
    expect(after.slice(0, cached.length)).toEqual(cached); // the refresh lands behind the cached items
    expect(new Set(after).size).toBe(after.length);
    await page.context().close();
  });

  // Reads are served by the region the edge routes to (geo first), so these pin it with ?region=.
  it("forced level 3: the origin answers limited and the page shows the banner", async (ctx) => {
    const { token } = await tokenFor("apac", 3);
    await force("apac", 3);
    try {
      let last = "";
      const probe = await waitFor(async () => {
        const res = await fetch(`${stack.edgeUrl}/v1/feed?count=5&region=apac`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as FeedResponse;
        last = `${res.status} ${res.headers.get("x-cache")} ${JSON.stringify({ ...body, items: body.items?.length })}`;
        return body.degradation_level >= 3 ? body : null;
      }, 10_000, "level 3 at the edge").catch((e: Error) => {
        throw new Error(`${e.message}; last answer: ${last}`);
      });
      if (!probe.limited) ctx.skip(); // the origin's level-3 mode (cache only, limited) is not in this build
      const page = await newPage(browser);
      await page.goto(`${stack.webUrl}/?region=apac#token=${token}`, { waitUntil: "domcontentloaded" });
      await page.waitForSelector("#limited-banner", { state: "visible", timeout: 15_000 });
      expect(await page.textContent("#limited-banner")).toMatch(/Limited functionality/);
      expect(await page.textContent("#level")).toBe("3");
      await screenshot(page, "feed-limited");
      await page.context().close();
    } finally {
      await force("apac", null);
    }
  });

  it("forced level 5: the client switches to the static emergency page", async () => {
    await fetch(`${stack.edgeUrl}/v1/admin/prewarm`, { method: "POST", headers: admin });
    const { token } = await tokenFor("us", 4);
    await force("us", 5);
    try {
      const page = await newPage(browser);
      await page.goto(`${stack.webUrl}/?region=us#token=${token}`, { waitUntil: "domcontentloaded" });
      await page.waitForURL(/\/emergency\?region=us$/, { timeout: 15_000 });
      await page.waitForSelector("#emergency-banner");
      expect(await page.$$eval("#emergency-items li", (x) => x.length)).toBeGreaterThan(0);
      await screenshot(page, "emergency");
      await page.context().close();
    } finally {
      await force("us", null);
    }
  });
});

describe("ops dashboard", () => {
  it("shows every region, and an admin-forced level set from the page itself", async () => {
    const page = await newPage(browser);
    await page.goto(`${stack.webUrl}/ops`, { waitUntil: "domcontentloaded" });
    for (const r of ["us", "eu", "apac"]) await page.waitForSelector(`#level-${r}`);
    await page.fill("#admin-token", stack.secrets.ADMIN_TOKEN);
    await page.selectOption("#admin-region", "eu");
    await page.selectOption("#admin-level", "2");
    try {
      await page.click("#force-level");
      await page.waitForFunction(() => document.getElementById("forced-eu")?.textContent === "forced 2", null, { timeout: 10_000 });
      await page.waitForFunction(() => Number(document.getElementById("level-eu")?.textContent) >= 2, null, { timeout: 10_000 });
      expect(await page.getAttribute("#admin-result", "data-ok")).toBe("true");
      // A few polls so the sparklines have a history to draw.
      await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 4, null, { timeout: 20_000 });
      expect(await page.$$eval("#spark-level svg path", (p) => p.length)).toBe(3);
      expect(await page.textContent("#health-us")).toMatch(/healthy|recovering|suspect|anti_flap|removed|drained|unknown/);
      await screenshot(page, "ops", { docs: true, fullPage: true });
      await page.click("#origin-us summary"); // the origin's own payload: breakers, dependencies, reasons
      const polls = Number(await page.getAttribute("body", "data-polls"));
      await page.waitForFunction((n) => Number(document.body.dataset.polls ?? 0) > n, polls, { timeout: 10_000 });
      expect(await page.getAttribute("#origin-us", "open")).not.toBeNull(); // survives the 2 s re-render
      expect(await page.textContent("#origin-us")).toMatch(/degradation_level/);
      await page.click("#release-level");
      await page.waitForFunction(() => document.getElementById("forced-eu")?.textContent === "automatic", null, { timeout: 10_000 });
    } finally {
      await force("eu", null);
      await page.context().close();
    }
  });

  it("admin actions without the right token are refused and say so", async () => {
    const page = await newPage(browser);
    await page.goto(`${stack.webUrl}/ops`, { waitUntil: "domcontentloaded" });
    await page.fill("#admin-token", "not-the-admin-token");
    await page.click("#prewarm");
    await page.waitForFunction(() => document.getElementById("admin-result")?.textContent?.includes("403"), null, { timeout: 10_000 });
    expect(await page.getAttribute("#admin-result", "data-ok")).toBe("false");
    await page.context().close();
  });
});
