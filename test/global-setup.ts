import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startStack, type Stack } from "../scripts/stack.ts";
import { profileDirName } from "../shared/local-ports.ts";

// Starts the real local stack once for the node test project (profile "test": its own ports and data
// dir, a small data set) and hands the URLs to tests through provide/inject.
let stack: Stack | null = null;

export default async function setup(project: TestProject) {
  const root = new URL("../", import.meta.url).pathname;
  if (process.env.FYP_TEST_KEEP_DATA !== "1") rmSync(join(root, ".local", profileDirName("test")), { recursive: true, force: true });
  stack = await startStack({
    profile: "test",
    users: Number(process.env.FYP_TEST_USERS ?? 3000),
    videos: Number(process.env.FYP_TEST_VIDEOS ?? 20000),
    log: (l) => process.stderr.write(`[stack] ${l}\n`),
  });
  project.provide("stack", {
    edgeUrl: stack.edgeUrl,
    originUrl: stack.originUrl,
    rankingUrl: stack.rankingUrl,
    upstashUrl: stack.upstashUrl,
    pgPort: stack.ports.postgres,
    secrets: stack.secrets,
  });
  return async () => {
    await stack?.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: {
      edgeUrl: string;
      originUrl: Record<"us" | "eu" | "apac", string>;
      rankingUrl: string;
      upstashUrl: Record<"us" | "eu" | "apac", string>;
      pgPort: number;
      secrets: { SESSION_SECRET: string; ADMIN_TOKEN: string; INTERNAL_SECRET: string; CURSOR_SECRET: string };
    };
  }
}
