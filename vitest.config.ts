import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

// The chaos suite stops and restarts every dependency of the shared e2e stack: it runs after every other
// file, so a slow recovery can never bleed into another test's expectations.
class ChaosLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isChaos = (f: TestSpecification) => f.moduleId.endsWith("/test/e2e/chaos.test.ts");
    return [...sorted.filter((f) => !isChaos(f)), ...sorted.filter(isChaos)];
  }
}

// Three projects:
//  - node:    unit tests and self-contained integration tests (each starts the real servers it needs)
//  - e2e:     tests against the whole local stack, started once by test/global-setup.ts
//  - workers: code that runs inside workerd, through the Cloudflare plugin
export default defineConfig({
  test: {
    sequence: { sequencer: ChaosLastSequencer },
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
