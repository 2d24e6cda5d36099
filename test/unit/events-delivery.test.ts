import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RETRY } from "../../shared/config.ts";
import { worstCaseMs } from "../../shared/retry.ts";
import type { EdgeConfig } from "../../edge/env.ts";
import { sendEvents } from "../../edge/events-consumer.ts";
import { EVENTS_DELIVERY_RETRY, OriginUnavailable } from "../../edge/origin-client.ts";
import { originRetry, PRODUCTION_ORIGIN_RETRY } from "../../origin/retry-policy.ts";

// The events consumer's call to its home-region origin (edge/events-consumer.ts sendEvents) against a real
// HTTP server playing the origin: one try waits for as long as the origin may retry its DB writes (the
// CDN origin row's 2 s per try used to cut it), a 503 (the origin's retries ran out, or level 3) is left
// to the queue's delayed redelivery, and an unreachable origin gets the CDN row's 3 tries.

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** Starts an origin answering with `handle`; returns its config and the requests it received. */
async function origin(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ cfg: EdgeConfig; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  server = createServer((req, res) => {
    requests.push(req);
    req.resume();
    handle(req, res, requests.length);
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { cfg: { origins: { us: url, eu: url, apac: url }, INTERNAL_SECRET: "test-internal-secret" } as EdgeConfig, requests };
}
const message = {
  user_id: "u42", home_region: "us" as const, received_at: new Date().toISOString(), request_id: "req-1",
  events: [{ type: "view" as const, video_id: "v1", watch_ms: 1000, ts: new Date().toISOString(), idempotency_key: "key-0001" }],
};

describe("the events delivery row", () => {
  it("waits out the origin's worst case: lookup under the read row, insert and append under the write row", () => {
    const origin = (r: typeof PRODUCTION_ORIGIN_RETRY) => worstCaseMs(r.dbRead) + 2 * worstCaseMs(r.dbWrite);
    expect(EVENTS_DELIVERY_RETRY.perTryTimeoutMs).toBeGreaterThan(origin(PRODUCTION_ORIGIN_RETRY));
    // …also with the loosest read try a local origin accepts (RETRY_DB_READ_TRY_MS ≤ 500).
    expect(EVENTS_DELIVERY_RETRY.perTryTimeoutMs).toBeGreaterThan(origin(originRetry({ dbReadTryMs: 500 })));
    expect(EVENTS_DELIVERY_RETRY.perTryTimeoutMs).toBeGreaterThan(RETRY.cdnOrigin.perTryTimeoutMs);
    expect({ ...EVENTS_DELIVERY_RETRY, perTryTimeoutMs: 0 }).toEqual({ ...RETRY.cdnOrigin, perTryTimeoutMs: 0 });
  });
});

describe("sendEvents against a real origin", () => {
  it("an origin still retrying past the CDN row's 2 s per try is waited for: one call, its answer", async () => {
    const o = await origin((_req, res) => setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end('{"written":1}'), RETRY.cdnOrigin.perTryTimeoutMs + 500));
    const res = await sendEvents(o.cfg, message, "");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ written: 1 });
    expect(o.requests).toHaveLength(1);
    expect(o.requests[0].headers["x-internal-secret"]).toBe("test-internal-secret");
  });

  it("a 503 from the origin is returned at once, not re-called (the queue redelivers it later)", async () => {
    const o = await origin((_req, res) => res.writeHead(503, { "retry-after": "2" }).end('{"error":{"code":"db_unavailable","message":"x"}}'));
    const res = await sendEvents(o.cfg, message, "");
    expect(res.status).toBe(503);
    expect(o.requests).toHaveLength(1);
  });

  it("a 502 (the origin not reached behind the platform) gets the CDN row's 3 tries", async () => {
    const o = await origin((_req, res) => res.writeHead(502).end());
    await expect(sendEvents(o.cfg, message, "")).rejects.toBeInstanceOf(OriginUnavailable);
    expect(o.requests).toHaveLength(3);
  });

  it("a connection dropped without an answer gets the CDN row's 3 tries, then OriginUnavailable", async () => {
    const o = await origin((req) => req.socket.destroy());
    await expect(sendEvents(o.cfg, message, "")).rejects.toBeInstanceOf(OriginUnavailable);
    expect(o.requests).toHaveLength(3);
  });
});
