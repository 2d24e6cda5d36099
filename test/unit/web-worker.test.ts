import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiPath } from "../../edge/api-paths.ts";
import { webApp } from "../../edge/web-worker.ts";

// The pages worker's forwarding of the API's paths (local stacks; production routes them on the zone):
// which paths are the API's, the request id carried through, and a 502 naming the API when it is down.
// The assets themselves are tested through the real assets router in test/e2e/static-pages.test.ts.
describe("pages worker: API paths", () => {
  it("are the API worker's route patterns, nothing else", () => {
    for (const p of ["/v1/feed", "/v1/", "/v1/admin/prewarm", "/emergency", "/openapi.json", "/healthz"]) expect(isApiPath(p), p).toBe(true);
    for (const p of ["/", "/ops", "/app.css", "/index.html", "/v1", "/v10/x", "/emergency/x", "/healthzz", "/feed-page.js"]) expect(isApiPath(p), p).toBe(false);
  });

  let server: ReturnType<typeof createServer>;
  let api = "";
  const seen: { url: string; id: string | undefined; method: string; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push({ url: req.url ?? "", id: req.headers["x-request-id"] as string | undefined, method: req.method ?? "", body });
        res.writeHead(201, { "content-type": "application/json", "x-cache": "MISS" }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("are forwarded to API_ORIGIN with method, query, body and one request id", async () => {
    const res = await webApp.fetch(new Request("http://pages.local/v1/events?x=1", { method: "POST", body: "[1]", headers: { "x-request-id": "req-forwarded-01" } }), { API_ORIGIN: api });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("x-cache")).toBe("MISS");
    // Relayed as the API worker sent it (the API sets its own request id and headers; this stand-in sets none).
    expect(res.headers.get("x-frame-options")).toBeNull();
    expect(seen.at(-1)).toEqual({ url: "/v1/events?x=1", id: "req-forwarded-01", method: "POST", body: "[1]" });
  });

  it("answer 502 api_unreachable (JSON, request id) when the API worker is down; never forwarded without API_ORIGIN", async () => {
    const down = await webApp.fetch(new Request("http://pages.local/v1/feed"), { API_ORIGIN: "http://127.0.0.1:1" });
    expect(down.status).toBe(502);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe("api_unreachable");
    expect(down.headers.get("x-request-id")).toBeTruthy();
    const n = seen.length;
    const prod = await webApp.fetch(new Request("http://pages.local/v1/feed"), { API_ORIGIN: "" });
    expect(prod.status).toBe(404);
    expect(seen.length).toBe(n);
  });
});
