import { describe, expect, it } from "vitest";
import type { Managed, Supervisor } from "../../scripts/local/supervisor.ts";
import { createFaults } from "../../scripts/stack-faults.ts";
import type { Region } from "../../shared/local-ports.ts";

// scripts/stack-faults.ts: an origin started with worker vars (the chaos suite's production
// RANK_TIMEOUT_MS) keeps them on its later starts; vars anywhere else are refused. The processes are
// stand-ins: what is under test is which vars each start is asked for.
function setup() {
  const starts: { region: Region; vars: Record<string, string> | undefined }[] = [];
  const managed = (name: string) => ({ name }) as unknown as Managed;
  const sup = { stop: async () => {} } as unknown as Supervisor;
  const idle = { stop: async () => {}, pause() {}, resume() {}, restart: async () => {}, kill: async () => {} };
  const faults = createFaults({
    sup,
    redis: { us: idle, eu: idle, apac: idle },
    origins: { us: managed("us"), eu: managed("eu"), apac: managed("apac") },
    postgres: { current: idle, restart: async () => idle },
    ranking: { current: managed("ranking"), restart: async () => managed("ranking") },
    startOrigin: async (region, vars) => (starts.push({ region, vars }), managed(region)),
  });
  return { faults, starts };
}

describe("origin restarts with vars", () => {
  it("a start with vars uses them, and later starts of that origin keep them", async () => {
    const { faults, starts } = setup();
    await faults.apply("origin", "stop", "us");
    await faults.apply("origin", "start", "us", { RANK_TIMEOUT_MS: "40" });
    await faults.apply("origin", "stop", "us");
    await faults.apply("origin", "start", "us");
    await faults.apply("origin", "stop", "eu");
    await faults.apply("origin", "start", "eu");
    expect(starts).toEqual([
      { region: "us", vars: { RANK_TIMEOUT_MS: "40" } },
      { region: "us", vars: { RANK_TIMEOUT_MS: "40" } },
      { region: "eu", vars: undefined },
    ]);
  });

  it("refuses vars for a running origin and for anything but an origin start", async () => {
    const { faults, starts } = setup();
    await expect(faults.apply("origin", "start", "us", { RANK_TIMEOUT_MS: "40" })).rejects.toThrow(/running/);
    await expect(faults.apply("ranking", "start", undefined, { RANK_TIMEOUT_MS: "40" })).rejects.toThrow(/origin start only/);
    await expect(faults.apply("origin", "stop", "us", { RANK_TIMEOUT_MS: "40" })).rejects.toThrow(/origin start only/);
    expect(starts).toEqual([]);
  });
});
