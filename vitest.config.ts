import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Three projects:
//  - node:    unit tests and self-contained integration tests (each starts the real servers it needs)
//  - e2e:     tests against the whole local stack, started once by test/global-setup.ts
//  - workers: code that runs inside workerd, through the Cloudflare plugin
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          // The chaos-under-load suite runs on its own (`npm run test:chaos`): on a 2-core machine that also
          // runs 5 workerd processes, Postgres, 3 Redis and the ranking service it is not yet stable enough
          // to gate CI. The single-fault scenarios run in every `npm test` (degradation, region-failover).
          exclude: process.env.FYP_CHAOS === "1" ? [] : ["test/e2e/chaos.test.ts"],
          environment: "node",
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./test/workers/wrangler.test.toml" } })],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
