import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// Issue 11 §7: `npm run deploy -- --dry-run` builds the edge on a zone route (never *.workers.dev, where
// the Cache API stores nothing) and every origin environment, without credentials.
const root = new URL("../../", import.meta.url).pathname;

describe("deploy --dry-run", () => {
  it("builds the edge's API worker on the API's paths of <FYP_EDGE_HOST> with EDGE_HOSTNAME, its pages worker on <FYP_EDGE_HOST>/*, and the three origins", () => {
    const r = spawnSync(process.execPath, ["scripts/deploy.ts", "--dry-run"], {
      cwd: root, encoding: "utf8", timeout: 240_000, env: { ...process.env, FYP_EDGE_HOST: "fyp.test-zone.example" },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const p of ["/v1/*", "/emergency", "/openapi.json", "/healthz"]) expect(r.stdout).toContain(`--route fyp.test-zone.example${p} `);
    expect(r.stdout).toMatch(/wrangler deploy -c wrangler\.web\.toml --route fyp\.test-zone\.example\/\* /);
    expect(r.stdout).toContain("EDGE_HOSTNAME:fyp.test-zone.example");
    for (const w of ["edge", "web", "origin-us", "origin-eu", "origin-apac"]) expect(existsSync(`${root}.local/deploy/${w}`), w).toBe(true);
    for (const f of ["wrangler.toml", "wrangler.web.toml"]) expect(readFileSync(`${root}${f}`, "utf8"), f).toMatch(/^workers_dev = false$/m);
  }, 300_000);

  it("refuses a real deploy without a zone hostname", () => {
    const env = { ...process.env };
    delete env.FYP_EDGE_HOST;
    const r = spawnSync(process.execPath, ["scripts/deploy.ts"], { cwd: root, encoding: "utf8", env, timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("FYP_EDGE_HOST");
  });
});
