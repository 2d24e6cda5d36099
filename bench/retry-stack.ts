import { parseArgs } from "node:util";
import pg from "pg";
import { startStack } from "../scripts/stack.ts";
import { LOCAL_PG, REGIONS, regionDatabase } from "../shared/local-ports.ts";

// The retry rows on the whole local stack (issue 12 item 5): the origins run in workerd with the seed's
// per-try timeouts (default) or looser ones (--fs-try / --db-read-try: RETRY_FEATURE_STORE_TRY_MS,
// RETRY_DB_READ_TRY_MS), signed-in feed misses go straight to each origin, and the origins' own view of
// Redis and Postgres is printed: the level each response carried, then /internal/v1/health's computed
// level, its reasons, and the dependency windows (error rate, p99, consecutive failures) the retries fed.
// Starts the "test" profile stack (FYP_PORT_OFFSET moves it); run it under flock like any stack run:
//   flock /tmp/fyp-stack.lock node bench/retry-stack.ts [--fs-try 50] [--db-read-try 200] [--requests 60]
const { values } = parseArgs({
  options: { "fs-try": { type: "string" }, "db-read-try": { type: "string" }, requests: { type: "string", default: "60" }, concurrency: { type: "string", default: "2" } },
});
const N = Number(values.requests);
const originVars: Record<string, string> = { RANK_TIMEOUT_MS: "250" };
if (values["fs-try"]) originVars.RETRY_FEATURE_STORE_TRY_MS = values["fs-try"];
if (values["db-read-try"]) originVars.RETRY_DB_READ_TRY_MS = values["db-read-try"];

const stack = await startStack({ profile: "test", users: 3000, videos: 20000, originVars, log: (l) => process.stderr.write(`[stack] ${l}\n`) });
try {
  const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };
  console.log(`retry-stack: per-try feature store ${originVars.RETRY_FEATURE_STORE_TRY_MS ?? "5 (seed)"} ms, DB read ${originVars.RETRY_DB_READ_TRY_MS ?? "100 (seed)"} ms; ${N} signed-in feed misses per region, ${values.concurrency} in flight`);
  for (const region of REGIONS) {
    const c = new pg.Client({ host: "127.0.0.1", port: stack.ports.postgres, database: regionDatabase(region), ...LOCAL_PG });
    await c.connect();
    const users = (await c.query(`SELECT user_id FROM users ORDER BY user_id LIMIT $1`, [N])).rows.map((r) => `u${r.user_id}`);
    await c.end();
    const levels = new Map<number, number>();
    let errors = 0;
    let next = 0;
    await Promise.all(Array.from({ length: Number(values.concurrency) }, async () => {
      while (next < users.length) {
        const u = users[next++];
        const res = await fetch(`${stack.originUrl[region]}/internal/v1/feed?count=10&user_id=${u}`, { headers: secret });
        if (!res.ok) {
          errors++;
          await res.body?.cancel();
          continue;
        }
        const lv = ((await res.json()) as { degradation_level: number }).degradation_level;
        levels.set(lv, (levels.get(lv) ?? 0) + 1);
      }
    }));
    const h = (await (await fetch(`${stack.originUrl[region]}/internal/v1/health`, { headers: secret })).json()) as {
      computed_level: number; reasons: string[]; dependencies: Record<string, { available: boolean; errorRate: number | null; p99Ms: number | null; samples: number; consecutiveFailures: number }>;
    };
    const dep = (n: string) => {
      const d = h.dependencies[n];
      return `${n} available=${d.available} error rate ${d.errorRate === null ? "-" : (100 * d.errorRate).toFixed(1) + "%"} p99 ${d.p99Ms?.toFixed(1) ?? "-"} ms (${d.samples} samples)`;
    };
    console.log(`  ${region}: levels of the responses ${JSON.stringify(Object.fromEntries([...levels].sort()))}, non-2xx ${errors}; now computed level ${h.computed_level} ${JSON.stringify(h.reasons)}`);
    console.log(`      ${dep("redis")}; ${dep("postgres")}`);
  }
} finally {
  await stack.stop();
}
