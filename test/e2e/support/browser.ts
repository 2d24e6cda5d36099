import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ensureChromium } from "../../../scripts/local/chromium.ts";

// Browser plumbing for the end-to-end UI tests: a headless system Chromium driven by playwright-core,
// screenshots into artifacts/ (git-ignored) and, for the README, a copy into docs/screenshots/ when asked
// (`FYP_UPDATE_SCREENSHOTS=1 npm run test:e2e`), so a plain test run leaves the work tree clean.

const ROOT = new URL("../../../", import.meta.url).pathname;
export const SCREENSHOT_DIR = join(ROOT, "artifacts/screenshots");
const DOCS_DIR = join(ROOT, "docs/screenshots");

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: await ensureChromium(),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** A fresh context per test: its own IndexedDB, storage and cookies, like a separate browser profile. */
export async function newPage(browser: Browser): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  // Page errors fail loudly in the test log instead of showing up as a mysteriously empty feed.
  page.on("pageerror", (e) => process.stderr.write(`[browser] page error: ${e.message}\n`));
  page.on("console", (m) => {
    // Thumbnails point at the production media host, which does not resolve locally, and the static
    // emergency page names no icon: neither is an error of the pages under test.
    const where = m.location().url;
    if (m.type() !== "error" || m.text().includes("ERR_NAME_NOT_RESOLVED") || where.endsWith("/favicon.ico")) return;
    process.stderr.write(`[browser] console: ${m.text()} (${where})\n`);
  });
  return page;
}

export async function screenshot(page: Page, name: string, opts: { docs?: boolean; fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? false });
  if (opts.docs && process.env.FYP_UPDATE_SCREENSHOTS === "1") {
    mkdirSync(DOCS_DIR, { recursive: true });
    copyFileSync(file, join(DOCS_DIR, `${name}.png`));
  }
  return file;
}

/** Video ids of the cards on the feed page, in order. */
export async function cardIds(page: Page): Promise<string[]> {
  return page.$$eval("#feed .card", (cards) => cards.map((c) => (c as HTMLElement).dataset.videoId ?? ""));
}

/** Scrolls to the bottom until at least `n` cards are on the page (or the timeout). */
export async function scrollUntil(page: Page, n: number, timeoutMs = 30_000): Promise<string[]> {
  const t0 = Date.now();
  for (;;) {
    const ids = await cardIds(page);
    if (ids.length >= n) return ids;
    if (Date.now() - t0 > timeoutMs) throw new Error(`only ${ids.length} cards after ${timeoutMs} ms of scrolling (wanted ${n})`);
    await page.mouse.wheel(0, 2000);
    await page.waitForTimeout(250);
  }
}
