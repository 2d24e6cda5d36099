import { describe, expect, it } from "vitest";
import { newVideoId } from "../../shared/video-id.ts";
import { DEFAULT_NOT_FOUND_TTL_S, notFoundKey, notFoundTtlFromEnv, notFoundTtlS } from "../../edge/video-not-found.ts";
import { uploadOrigin } from "../../shared/video-id.ts";
import { DEFAULT_LAG_WARN_S } from "../../edge/replication-gate.ts";

// Negative caching of video reads (issue 14 item 2) with the production values: 2 s per answering region,
// nothing for an upload of another region younger than the 60 s lag bound.
const NOW = Date.UTC(2026, 5, 1, 12);

describe("video 404 caching rule", () => {
  it("keys a 404 by the region that answered it", () => {
    expect(notFoundKey("eu", "v42")).toBe("video-404/eu/v42");
    expect(notFoundKey("us", "v42")).not.toBe(notFoundKey("eu", "v42"));
  });

  it("reads the upload region and mint time back from an upload id; seeded ids have none", () => {
    expect(uploadOrigin(newVideoId("apac", NOW, 12345))).toEqual({ region: "apac", mintedAt: NOW });
    expect(uploadOrigin(newVideoId("us", NOW, 0))).toEqual({ region: "us", mintedAt: NOW });
    expect(uploadOrigin(123_456n)).toBeNull();
  });

  it("does not cache a 404 that may be replication in flight; caches others briefly", () => {
    const ttl = DEFAULT_NOT_FOUND_TTL_S;
    const lag = DEFAULT_LAG_WARN_S;
    const usUpload = newVideoId("us", NOW - 3_000);
    expect(notFoundTtlS(usUpload, "eu", NOW, ttl, lag)).toBe(0); // a 3 s old us upload eu has not received yet
    expect(notFoundTtlS(usUpload, "us", NOW, ttl, lag)).toBe(2); // its home region says 404: it really is not there
    expect(notFoundTtlS(usUpload, "eu", NOW + lag * 1000, ttl, lag)).toBe(2); // past the lag bound
    expect(notFoundTtlS(77n, "eu", NOW, ttl, lag)).toBe(2); // an unknown seeded-range id
    expect(ttl).toBeLessThan(lag);
  });

  it("VIDEO_NOT_FOUND_TTL_S: 0..60 s, else the default", () => {
    expect(notFoundTtlFromEnv({})).toBe(2);
    expect(notFoundTtlFromEnv({ VIDEO_NOT_FOUND_TTL_S: "0" })).toBe(0);
    expect(notFoundTtlFromEnv({ VIDEO_NOT_FOUND_TTL_S: "10" })).toBe(10);
    expect(notFoundTtlFromEnv({ VIDEO_NOT_FOUND_TTL_S: "600" })).toBe(2);
    expect(notFoundTtlFromEnv({ VIDEO_NOT_FOUND_TTL_S: "x" })).toBe(2);
  });
});
