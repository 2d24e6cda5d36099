import { describe, expect, inject, it } from "vitest";

// The static pages answer under the worker's HTTP contract (wrangler.web.toml [assets] run_worker_first =
// true, edge/static-assets.ts), through the real assets router in front of the pages worker
// (edge/web-worker.ts): before, the assets layer answered DELETE / with an empty 405 and no Allow, and pages
// had no x-request-id.
const stack = inject("stack");
const url = (path: string) => `${stack.webUrl}${path}`;
const SELF = { fetch: (u: string, init?: RequestInit) => fetch(u, { redirect: "manual", ...init }) };

describe("static pages behind the worker", () => {
  it("GET / and an asset: 200 from the assets, with x-request-id and the security headers", async () => {
    for (const path of ["/", "/app.css"]) {
      const r = await SELF.fetch(url(path));
      expect(r.status, path).toBe(200);
      expect(r.headers.get("x-request-id"), path).toBeTruthy();
      expect(r.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(r.headers.get("x-frame-options"), path).toBe("SAMEORIGIN");
      const body = await r.text();
      if (path === "/") {
        expect(r.headers.get("content-type")).toMatch(/^text\/html/);
        expect(body).toContain("<!doctype html>");
      }
    }
    const head = await SELF.fetch(url("/"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-request-id")).toBeTruthy();
  });

  it("/index.html redirects to / and a matching ETag revalidates to 304, both with x-request-id", async () => {
    const r = await SELF.fetch(url("/index.html"), { redirect: "manual" });
    expect(r.status).toBe(307);
    expect(r.headers.get("location")).toBe("/");
    expect(r.headers.get("x-request-id")).toBeTruthy();
    const etag = (await SELF.fetch(url("/"))).headers.get("etag");
    expect(etag).toBeTruthy();
    const again = await SELF.fetch(url("/"), { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get("x-request-id")).toBeTruthy();
  });

  it("a wrong method on a page or asset is the JSON 405 with Allow: GET, HEAD", async () => {
    for (const [method, path] of [["DELETE", "/"], ["POST", "/"], ["PUT", "/app.css"], ["DELETE", "/index.html"]]) {
      const r = await SELF.fetch(url(path), { method });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get("allow"), `${method} ${path}`).toBe("GET, HEAD");
      expect(r.headers.get("x-request-id")).toBeTruthy();
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("method_not_allowed");
      expect(body.error.message).toContain(method);
    }
  });

  it("paths that are neither a route nor an asset stay the JSON 404; the API never falls to the assets", async () => {
    for (const [method, path] of [["GET", "/nope.html"], ["DELETE", "/nope"], ["GET", "/v1/nope"], ["GET", "/v1/app.css"]]) {
      const r = await SELF.fetch(url(path), { method });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("not_found");
      expect(r.headers.get("x-request-id")).toBeTruthy();
    }
    const api = await SELF.fetch(url("/healthz"), { method: "DELETE" });
    expect(api.status).toBe(405);
    expect(api.headers.get("allow")).toBe("GET, HEAD");
  });

  it("API paths through the pages worker come back as the client asked: plain JSON when it accepts no encoding", async () => {
    const { get } = await import("node:http");
    for (const path of ["/v1/feed?count=3", "/healthz", "/openapi.json"]) {
      const r = await new Promise<{ status: number; encoding: string | undefined; body: string }>((resolve, reject) =>
        get(url(path), (res) => {
          let body = "";
          res.setEncoding("latin1").on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode ?? 0, encoding: res.headers["content-encoding"], body }));
        }).on("error", reject));
      expect(r.status, path).toBe(200);
      expect(r.encoding, path).toBeUndefined();
      expect(() => JSON.parse(r.body), path).not.toThrow();
    }
  });
});
