import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REGIONS } from "../shared/local-ports.ts";
import { API_ROUTE_PATTERNS } from "../edge/api-paths.ts";

// `npm run deploy [-- --dry-run]`: the edge's two workers on routes of a Cloudflare zone, then the three
// regional origins. The Cache API stores nothing on *.workers.dev, so the edge is only ever published on
// routes:
//   FYP_EDGE_HOST  hostname the edge serves, in a zone of the account (e.g. fyp.example.com); required
//                  for a real deploy. The API worker (wrangler.toml) gets the API's paths
//                  ("<FYP_EDGE_HOST>/v1/*", /emergency, /openapi.json, /healthz: API_ROUTE_PATTERNS) and
//                  EDGE_HOSTNAME (Cache API keys); the pages worker (wrangler.web.toml) gets
//                  "<FYP_EDGE_HOST>/*", the rest (the more specific route wins), so the pages and the API
//                  share one origin and the API has no static-assets router in front of it.
// --dry-run builds and checks every worker without uploading (no credentials needed); without
// FYP_EDGE_HOST it uses the placeholder fyp.example.com. Bundles go to .local/deploy/<worker>/.
const { values } = parseArgs({ options: { "dry-run": { type: "boolean", default: false } } });
const dryRun = values["dry-run"];
const host = process.env.FYP_EDGE_HOST ?? (dryRun ? "fyp.example.com" : undefined);
if (!host || !/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(host)) {
  console.error("set FYP_EDGE_HOST to the hostname the edge serves in your Cloudflare zone (e.g. fyp.example.com)");
  process.exit(2);
}
const root = new URL("../", import.meta.url).pathname;
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const outdir = (name: string) => (dryRun ? ["--dry-run", "--outdir", join(root, ".local/deploy", name)] : []);

const runs: [string, string[]][] = [
  ["edge", ["deploy", "-c", "wrangler.toml", ...API_ROUTE_PATTERNS.flatMap((p) => ["--route", `${host}${p}`]), "--var", `EDGE_HOSTNAME:${host}`, ...outdir("edge")]],
  ["web", ["deploy", "-c", "wrangler.web.toml", "--route", `${host}/*`, ...outdir("web")]],
  ...REGIONS.map((r): [string, string[]] => [`origin-${r}`, ["deploy", "-c", "origin/wrangler.toml", "--env", r, ...outdir(`origin-${r}`)]]),
];
for (const [name, args] of runs) {
  console.log(`\n=== ${name}: wrangler ${args.join(" ")}`);
  const r = spawnSync(process.execPath, [wrangler, ...args], { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (r.status !== 0) {
    console.error(`=== ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}
console.log(`\n${dryRun ? "built" : "deployed"}: edge API on https://${host}{${API_ROUTE_PATTERNS.join(",")}}, pages on https://${host}/*, origins ${REGIONS.join(", ")}`);
