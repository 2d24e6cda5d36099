import { waitFor } from "./pg.ts";

// The edge's view of region health (GET /v1/status), for tests that take origins down and must leave
// routing back at full weight for the next test.
export interface RegionHealthView {
  level: number;
  regions: Record<string, { state: string; weight: number }>;
}

export async function edgeRegionHealth(edgeUrl: string): Promise<RegionHealthView> {
  return ((await (await fetch(`${edgeUrl}/v1/status`)).json()) as { region_health: RegionHealthView }).region_health;
}

export const atFullWeight = (h: RegionHealthView) => Object.values(h.regions).every((r) => r.state === "healthy" && r.weight === 1);

export async function waitForFullWeight(edgeUrl: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => atFullWeight(await edgeRegionHealth(edgeUrl)), timeoutMs, "all regions at full weight");
}
