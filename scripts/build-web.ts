import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

// Builds the web client and the ops dashboard into public/, the pages worker's static assets directory (wrangler.web.toml)
// (wrangler.toml [assets]; wrangler runs this as its [build] command before `dev` and `deploy`).
// web/*-page.ts are bundled (they pull in shared/client), web/*.html and web/*.css are copied as-is.
// public/ is rebuilt from scratch each time so a renamed page never lingers as a stale asset.

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SRC = join(ROOT, "web");
const OUT = join(ROOT, "public");

export async function buildWeb(opts: { minify?: boolean } = {}): Promise<string[]> {
  const files = readdirSync(SRC);
  const entries = files.filter((f) => f.endsWith("-page.ts")).map((f) => join(SRC, f));
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: entries,
    outdir: OUT,
    bundle: true,
    format: "esm",
    platform: "browser",
    // Browsers that have IntersectionObserver, private class fields and top-level await.
    target: ["es2022", "chrome100", "firefox100", "safari16"],
    minify: opts.minify ?? true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
  });
  const copied = files.filter((f) => f.endsWith(".html") || f.endsWith(".css"));
  for (const f of copied) copyFileSync(join(SRC, f), join(OUT, f));
  return [...entries.map((e) => e.slice(SRC.length + 1).replace(/\.ts$/, ".js")), ...copied];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const t0 = performance.now();
  const out = await buildWeb({ minify: !process.argv.includes("--no-minify") });
  console.log(`web: built ${out.join(", ")} into public/ in ${Math.round(performance.now() - t0)} ms`);
}
