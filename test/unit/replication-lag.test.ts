import { describe, expect, it } from "vitest";
import { lagSeconds, lagsFromRows } from "../../origin/replication/lag.ts";
import { checksumMismatches } from "../../shared/replication-checksums.ts";
import { newVideoId, VIDEO_ID_EPOCH_MS } from "../../shared/video-id.ts";
import { parseVideoId } from "../../shared/ids.ts";

// Pure parts of catalogue replication: the lag formula, the checksum comparison, upload ids.
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

describe("replication lag from heartbeats", () => {
  it("is the transit time of the newest heartbeat while beats arrive, and grows once one is overdue", () => {
    expect(lagSeconds({ region: "us", ts: at(0), applied_at: at(120), now: at(5000) }, 10_000)).toBe(0.12);
    expect(lagSeconds({ region: "us", ts: at(0), applied_at: at(120), now: at(10_050) }, 10_000)).toBe(0.12);
    expect(lagSeconds({ region: "us", ts: at(0), applied_at: at(120), now: at(25_000) }, 10_000)).toBe(15);
    expect(lagSeconds({ region: "us", ts: at(0), applied_at: at(0), now: at(0) }, 10_000)).toBe(0);
  });

  it("reports every other region, null until its first heartbeat, and never its own row", () => {
    const rows = [
      { region: "us" as const, ts: at(0), applied_at: at(0), now: at(100) },
      { region: "eu" as const, ts: at(0), applied_at: at(250), now: at(300) },
    ];
    expect(lagsFromRows("us", rows, 10_000)).toEqual({ eu: 0.25, apac: null });
  });
});

describe("checksum comparison of the global tables", () => {
  it("names each (table, owner, region) whose copy differs from the owner's", () => {
    const same = { videos: { us: { rows: 2, sum: "7" } } };
    expect(checksumMismatches({ us: same, eu: same, apac: same })).toEqual([]);
    expect(checksumMismatches({ us: same, eu: { videos: { us: { rows: 1, sum: "3" } } }, apac: { videos: {} } })).toEqual([
      { table: "videos", owner: "us", region: "eu" },
      { table: "videos", owner: "us", region: "apac" },
    ]);
  });
});

describe("upload ids", () => {
  it("grow with time, carry the region, stay in the public id format and far above the seeded 1…N", () => {
    const now = Date.UTC(2026, 10, 29);
    const a = newVideoId("us", now, 0), b = newVideoId("us", now + 1, 0), eu = newVideoId("eu", now, 0);
    expect(b > a).toBe(true);
    expect(eu).not.toBe(a);
    expect(newVideoId("apac", now, 0xffffffff) - newVideoId("apac", now, 0)).toBe(2n ** 18n - 1n);
    expect(parseVideoId(`v${newVideoId("apac", Date.UTC(2054, 0, 1), 0xffffffff)}`)).not.toBeNull();
    expect(a > 10n ** 12n).toBe(true);
    expect(newVideoId("us", VIDEO_ID_EPOCH_MS - 1, 5)).toBe(5n);
  });
});

describe("failover step 6: lag warnings", () => {
  it("names each flow over the bound, none while every flow is under it or unknown", async () => {
    const { lagWarnings } = await import("../../edge/replication-gate.ts");
    const pairs = [{ from: "us" as const, to: "eu" as const, lag_s: 75.25 }, { from: "eu" as const, to: "us" as const, lag_s: 0.01 }, { from: "apac" as const, to: "us" as const, lag_s: null }];
    expect(lagWarnings(pairs, 60)).toEqual(["replication us → eu lags 75.3 s (bound 60 s)"]);
    expect(lagWarnings(pairs, 100)).toEqual([]);
  });
});
