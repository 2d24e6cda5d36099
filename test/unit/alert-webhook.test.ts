import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../shared/clock.ts";
import { ALERT_RETRY, alertWebhookUrl, sendAlert, type Delivery } from "../../edge/alert-webhook.ts";
import type { AlertPayload } from "../../edge/incident.ts";

// Alert delivery against a real HTTP receiver on 127.0.0.1, with the production policy (2 s per try,
// 3 tries). Timeouts and backoff run on a FakeClock so a hanging receiver costs no real seconds.
const payload: AlertPayload = { type: "region_down", region: "eu", incident_id: "inc-eu-1", title: "Region eu unhealthy: 5 consecutive probe failures", at: 1_700_000_060_000 };

let server: Server;
let url: string;
let received: Array<{ method?: string; type?: string; body: unknown }> = [];
let answer: (n: number, res: ServerResponse) => void = (_n, res) => res.writeHead(204).end();

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ method: req.method, type: req.headers["content-type"], body: JSON.parse(body) });
      answer(received.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/oncall`;
});
afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
beforeEach(() => {
  received = [];
  answer = (_n, res) => res.writeHead(204).end();
});

/** Drives a delivery on a FakeClock: fake time moves in 50 ms steps while real I/O happens in between. */
async function onFakeClock(run: (clock: FakeClock) => Promise<Delivery>): Promise<Delivery> {
  const clock = new FakeClock();
  let done: Delivery | null = null;
  const p = run(clock).then((d) => (done = d));
  for (let i = 0; i < 400 && !done; i++) {
    await new Promise((r) => setTimeout(r, 5));
    await clock.advance(50);
  }
  return p;
}

describe("alert webhook", () => {
  it("POSTs the alert as JSON and reports it delivered", async () => {
    const d = await sendAlert(url, payload);
    expect(d).toEqual({ outcome: "delivered", attempts: 1, http_status: 204, error: null });
    expect(received).toEqual([{ method: "POST", type: "application/json", body: payload }]);
  });

  it("retries a 5xx and delivers on the next try", async () => {
    answer = (n, res) => res.writeHead(n === 1 ? 503 : 200).end();
    const d = await onFakeClock((clock) => sendAlert(url, payload, { clock }));
    expect(d).toEqual({ outcome: "delivered", attempts: 2, http_status: 200, error: null });
    expect(received).toHaveLength(2);
  });

  it("does not retry a receiver that refuses the body (4xx)", async () => {
    answer = (_n, res) => res.writeHead(400).end();
    const d = await sendAlert(url, payload);
    expect(d).toMatchObject({ outcome: "failed", attempts: 1, http_status: 400, error: "webhook refused the alert: 400" });
  });

  it("gives up on a hanging receiver after 3 tries of 2 s", async () => {
    answer = () => {}; // never answers
    expect(ALERT_RETRY).toMatchObject({ retries: 2, perTryTimeoutMs: 2000 });
    const d = await onFakeClock((clock) => sendAlert(url, payload, { clock }));
    expect(d).toMatchObject({ outcome: "failed", attempts: 3, http_status: null });
    expect(d.error).toMatch(/timed out after 2000 ms/);
  });

  it("reports an unreachable receiver as failed, never throwing", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const d = await onFakeClock((clock) => sendAlert(`http://127.0.0.1:${port}/`, payload, { clock }));
    expect(d).toMatchObject({ outcome: "failed", attempts: 3, http_status: null });
  });

  it("reads ALERT_WEBHOOK_URL: empty is off, a non-URL is an error", () => {
    expect(alertWebhookUrl({})).toEqual({ url: null, error: null });
    expect(alertWebhookUrl({ ALERT_WEBHOOK_URL: "  " })).toEqual({ url: null, error: null });
    expect(alertWebhookUrl({ ALERT_WEBHOOK_URL: "https://hooks.example/x?k=1" })).toEqual({ url: "https://hooks.example/x?k=1", error: null });
    expect(alertWebhookUrl({ ALERT_WEBHOOK_URL: "hooks.example/x" }).error).toMatch(/ALERT_WEBHOOK_URL/);
    expect(alertWebhookUrl({ ALERT_WEBHOOK_URL: "ftp://hooks.example/x" }).error).toMatch(/ALERT_WEBHOOK_URL/);
  });
});
