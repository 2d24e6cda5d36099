import { describe, expect, it } from "vitest";
import { isOriginFault } from "../../edge/origin-error-report.ts";

// edge/origin-error-report.ts isOriginFault: which origin answers the events consumer reports to
// RegionHealth (a report restarts a recovering region's error-free timer). Level 3's 503 writes_queued
// is the origin working as designed; counted, a backlog of queued events held a recovering region at
// recovery weight for as long as it lasted (the chaos suite's region-outage recovery in CI).
describe("isOriginFault", () => {
  const body = (code: string) => JSON.stringify({ error: { code, message: "x" } });

  it("a 503 writes_queued (level 3: writes wait in the queue) is not a fault of the region", () => {
    expect(isOriginFault(503, body("writes_queued"))).toBe(false);
  });

  it("any other 5xx is, whatever its body", () => {
    expect(isOriginFault(503, body("unavailable"))).toBe(true);
    expect(isOriginFault(503, "upstream connect error")).toBe(true);
    expect(isOriginFault(503, "")).toBe(true);
    expect(isOriginFault(500, body("writes_queued"))).toBe(true);
    expect(isOriginFault(502, body("internal"))).toBe(true);
  });

  it("no 4xx or 2xx is", () => {
    expect(isOriginFault(429, body("rate_limited"))).toBe(false);
    expect(isOriginFault(422, body("unknown_video"))).toBe(false);
    expect(isOriginFault(200, "{}")).toBe(false);
  });
});
