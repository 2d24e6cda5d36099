import { describe, expect, it } from "vitest";
import { HOT_DEFAULTS, HotKeys } from "../../edge/hot-keys.ts";

// The per-video origin budget and hot-key detection of the edge (edge/hot-keys.ts) with the production
// defaults: a token bucket of 20 origin fetches per video, refilled at 20 per second; a key is hot at 50
// requests per second over a sliding second. Time is passed in (ms), so nothing here waits.
const T0 = 1_700_000_000_000;

describe("per-video origin token bucket (production defaults)", () => {
  it("the defaults are the documented ones", () => {
    expect(HOT_DEFAULTS).toMatchObject({ hotRps: 50, originRps: 20, originBurst: 20 });
  });

  it("a burst gets 20 origin fetches, the 21st is refused; refills at 20/s up to the burst", () => {
    const h = new HotKeys();
    const takes = Array.from({ length: 21 }, () => h.takeOriginToken("v1", T0));
    expect(takes.filter(Boolean)).toHaveLength(20);
    expect(takes[20]).toBe(false);
    expect(h.takeOriginToken("v1", T0 + 49)).toBe(false); // 0.98 of a token
    expect(h.takeOriginToken("v1", T0 + 50)).toBe(true); // one token per 50 ms
    expect(h.takeOriginToken("v1", T0 + 50)).toBe(false);
    // A long quiet spell refills to the burst, not beyond it.
    const later = Array.from({ length: 25 }, () => h.takeOriginToken("v1", T0 + 60_000));
    expect(later.filter(Boolean)).toHaveLength(20);
  });

  it("budgets are per video", () => {
    const h = new HotKeys();
    for (let i = 0; i < 20; i++) h.takeOriginToken("v1", T0);
    expect(h.takeOriginToken("v1", T0)).toBe(false);
    expect(h.takeOriginToken("v2", T0)).toBe(true);
  });
});

describe("hot-key detection (production defaults)", () => {
  it("hot at 50 requests in a second, not at 49; the previous second decays out", () => {
    const h = new HotKeys();
    let rps = 0;
    for (let i = 0; i < 49; i++) rps = h.hit("v9", T0 + i);
    expect(h.isHot(rps)).toBe(false);
    rps = h.hit("v9", T0 + 49);
    expect(h.isHot(rps)).toBe(true);
    expect(h.hotKeys(T0 + 100)).toEqual(["v9"]);
    // Half-way through the next second, half of the previous second still counts: 1 + 25.
    expect(h.hit("v9", T0 + 1500)).toBeCloseTo(26, 5);
    expect(h.hotKeys(T0 + 5000)).toEqual([]);
  });
});
