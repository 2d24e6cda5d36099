import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

// A stand-in for the on-call pager: the test stack's edge gets ALERT_WEBHOOK_URL = `${url}/alerts`, and
// RegionHealth POSTs each region_down / region_recovered alert there (edge/alert-webhook.ts). Started by
// the global setup, so it outlives every test file; tests read what arrived over loopback HTTP:
//   POST /alerts          the webhook; answers 200, or 503 while failNext > 0 (to exercise retries)
//   GET  /received        every alert body received so far, with receive time and the answer given
//   POST /control         {failNext: n}: the next n webhook calls get a 503
export interface ReceivedAlert {
  body: Record<string, unknown>;
  received_at: number;
  answered: number;
}

export async function startAlertReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const received: ReceivedAlert[] = [];
  let failNext = 0;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const json = (status: number, v: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(v));
      try {
        if (req.method === "POST" && req.url === "/alerts") {
          const answered = failNext > 0 ? 503 : 200;
          if (failNext > 0) failNext--;
          received.push({ body: JSON.parse(raw) as Record<string, unknown>, received_at: Date.now(), answered });
          return json(answered, { ok: answered === 200 });
        }
        if (req.method === "GET" && req.url === "/received") return json(200, received);
        if (req.method === "POST" && req.url === "/control") {
          const n = (JSON.parse(raw || "{}") as { failNext?: unknown }).failNext;
          if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new Error("failNext must be an integer ≥ 0");
          failNext = n;
          return json(200, { failNext });
        }
        json(404, { error: "POST /alerts, GET /received, POST /control" });
      } catch (e) {
        json(400, { error: (e as Error).message });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
