import { describe, expect, inject, it } from "vitest";
import { expectErrorShape } from "../support/error-shape.ts";

// Issue 11 §3 in the two services behind the edge (the edge itself: test/workers/http-faults.test.ts):
// unknown paths are 404, a wrong method on a real path is 405 with Allow, and a body over the cap is
// 413 whether it comes with a content-length or chunked.
const stack = inject("stack");
const secret = { "x-internal-secret": stack.secrets.INTERNAL_SECRET };

/** A body with no content-length: Node's fetch sends a ReadableStream chunked. */
function chunked(bytes: number): { body: ReadableStream<Uint8Array>; duplex: "half" } {
  const chunk = new TextEncoder().encode("x".repeat(16_384));
  let sent = 0;
  return {
    duplex: "half",
    body: new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent >= bytes) return ctl.close();
        ctl.enqueue(chunk);
        sent += chunk.length;
      },
    }),
  };
}

describe("HTTP faults in the origin and the ranking service", () => {
  const services = [
    { name: "origin", base: stack.originUrl.eu, unknown: ["/internal/v1/feeds", "/internal/v1/feed/", "/internal/v1/videos/"], wrong: [["DELETE", "/internal/v1/feed", "GET, HEAD"], ["GET", "/internal/v1/events", "POST"]], post: "/internal/v1/events", cap: 1 << 20 },
    { name: "ranking", base: stack.rankingUrl, unknown: ["/v1/ranks", "/v1/rank/", "/v2/rank"], wrong: [["GET", "/v1/rank", "POST"], ["DELETE", "/healthz", "GET, HEAD"]], post: "/v1/rank", cap: 32 * 1024 * 1024 },
  ] as const;

  it("edge: a chunked body far over the cap (10 MB to POST /v1/events) is read to its end and answered 413, never a reset", async () => {
    // A new-user trial with a 1 MiB drain bound saw 10 MB chunked bodies reset 5 times in 5 (curl 56):
    // the edge stopped reading and closed while the client was still sending (shared/body-limit.ts).
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${stack.edgeUrl}/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, ...chunked(10_000_000) } as RequestInit);
      expect(res.status).toBe(413);
      expect((await expectErrorShape(res)).error).toMatchObject({ code: "payload_too_large", field: "body" });
    }
  });

  for (const s of services) {
    it(`${s.name}: 404 for unknown paths, 405 + Allow for wrong methods`, async () => {
      for (const p of s.unknown) {
        const r = await fetch(`${s.base}${p}`, { headers: secret });
        expect(r.status, p).toBe(404);
        expect((await expectErrorShape(r)).error.code).toBe("not_found");
      }
      for (const [method, p, allow] of s.wrong) {
        const r = await fetch(`${s.base}${p}`, { method, headers: secret });
        expect(r.status, `${method} ${p}`).toBe(405);
        expect(r.headers.get("allow")).toBe(allow);
        expect((await expectErrorShape(r)).error.code).toBe("method_not_allowed");
      }
    });

    it(`${s.name}: a body over the cap is 413 with or without content-length`, async () => {
      const cap = s.cap; // origin: INTERNAL_MAX_BODY_BYTES; ranking: RANK_MAX_BODY_BYTES default
      const headers = { ...secret, "content-type": "application/json" };
      // Both services read an over-cap body to its end before answering (shared/body-limit.ts; the ranking
      // service's rank-listener.ts), so the client has finished sending and reads the 413 itself: no
      // EPIPE / reset, sized or chunked, on any try (CI once saw EPIPE on the chunked origin case).
      for (let i = 0; i < 3; i++) {
        const sized = await fetch(`${s.base}${s.post}`, { method: "POST", headers, body: "x".repeat(cap + 1) });
        expect(sized.status).toBe(413);
        expect((await expectErrorShape(sized)).error.code).toBe("payload_too_large");
        const streamed = await fetch(`${s.base}${s.post}`, { method: "POST", headers, ...chunked(cap + 65_536) } as RequestInit);
        expect(streamed.status).toBe(413);
        expect((await expectErrorShape(streamed)).error.code).toBe("payload_too_large");
      }
    });
  }
});
