// The origin-miss table on its own: `node bench/origin-miss.bench.ts` starts a local stack (profile test,
// FYP_PORT_OFFSET like bench/stack.bench.ts, BENCH_USERS / BENCH_VIDEOS), runs bench/origin-miss.ts and
// stops exactly what it started. `npm run bench` prints the same table inside bench/stack.bench.ts.
process.env.FYP_PORT_OFFSET ??= "3000";
process.env.FYP_WORKER_RUNTIME ??= "miniflare"; // as bench/stack.bench.ts runs the workers
const { startStack } = await import("../scripts/stack.ts");
const { originMiss } = await import("./origin-miss.ts");

const stack = await startStack({
  profile: "test", users: Number(process.env.BENCH_USERS ?? 10_000), videos: Number(process.env.BENCH_VIDEOS ?? 100_000),
  log: (l) => console.error(`[stack] ${l}`),
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stack.stop().finally(() => process.exit(130)));
try {
  await originMiss({
    originUrl: stack.originUrl.us, rankingUrl: stack.rankingUrl, pgPort: stack.ports.postgres, internalSecret: stack.secrets.INTERNAL_SECRET,
    procs: { "origin us (workerd)": stack.origins.us.child.pid!, "ranking service": stack.ranking.child.pid!, "postgres": stack.postgres.pid ?? -1, "redis us": stack.redis.us.pid },
  });
} finally {
  await stack.stop();
}
export {};
