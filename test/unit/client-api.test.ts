import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiClient, HttpError } from "../../shared/client/api-client.ts";

// The web client's API client against a real HTTP server speaking the edge's contract (paging by
// cursor, error bodies, retry-after), including the failures it must ride out: 503s, hung requests,
// a closed port.

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_q, _b, res) => res.end();
const seen: Array<{ method: string; url: string; auth: string | undefined; body: string; keepalive?: boolean }> = [];
let server: ReturnType<typeof createServer>;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const item = (n: number) => ({
  video_id: `v${n}`, author_id: "u1", caption: `video ${n}`, duration_ms: 15000, video_url: "x", thumbnail_url: "y",
  stats: { views: n, likes: 0 }, score: 1 / n, reason: "trending",
});
const page = (ids: number[], next: string | null) => ({
  items: ids.map(item), next_cursor: next, source: "origin", region: "us", degradation_level: 0, limited: false, model_version: null, generated_at: new Date().toISOString(),
});
const fast = { retries: 2, delaysMs: [10, 20], jitter: 0, perTryTimeoutMs: 300 };

describe("ApiClient.getFeed", () => {
  it("follows the cursor chain and sends the session token", async () => {
    handler = (req, _b, res) => {
      const u = new URL(req.url!, base);
      const cursor = u.searchParams.get("cursor");
      if (!cursor) return json(res, 200, page([1, 2], "c1"));
      if (cursor === "c1") return json(res, 200, page([3, 4], "c2"));
      return json(res, 200, page([5], null));
    };
    const api = new ApiClient({ baseUrl: `${base}/`, token: () => "t.o.k", feedRetry: fast });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const p = await api.getFeed({ count: 2, cursor, region: "eu" });
      ids.push(...p.items.map((i) => i.video_id));
      cursor = p.next_cursor;
    } while (cursor);
    expect(ids).toEqual(["v1", "v2", "v3", "v4", "v5"]);
    expect(seen.map((s) => s.url)).toEqual(["/v1/feed?count=2&region=eu", "/v1/feed?count=2&cursor=c1&region=eu", "/v1/feed?count=2&cursor=c2&region=eu"]);
    expect(seen.every((s) => s.auth === "Bearer t.o.k")).toBe(true);
  });

  it("anonymous requests carry no Authorization header", async () => {
    handler = (_q, _b, res) => json(res, 200, page([1], null));
    await new ApiClient({ baseUrl: base, feedRetry: fast }).getFeed();
    expect(seen[0].auth).toBeUndefined();
  });

  it("retries 503s and hung requests, then succeeds", async () => {
    let n = 0;
    handler = (_q, _b, res) => {
      n++;
      if (n === 1) return json(res, 503, { error: { code: "unavailable", message: "busy" } });
      if (n === 2) return; // never answers: the per-try timeout must cut it
      json(res, 200, page([7], null));
    };
    const p = await new ApiClient({ baseUrl: base, feedRetry: fast }).getFeed();
    expect(p.items[0].video_id).toBe("v7");
    expect(n).toBe(3);
  });

  it("does not retry a 4xx and surfaces the contract's error code", async () => {
    handler = (_q, _b, res) => json(res, 401, { error: { code: "unauthorized", message: "invalid or expired token" } });
    const err = await new ApiClient({ baseUrl: base, token: () => "a.b.c", feedRetry: fast }).getFeed().catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(401);
    expect((err as HttpError).code).toBe("unauthorized");
    expect(seen).toHaveLength(1);
  });

  it("gives up after the policy's tries when the server keeps failing", async () => {
    handler = (_q, _b, res) => json(res, 502, { error: { code: "bad_gateway", message: "down" } });
    await expect(new ApiClient({ baseUrl: base, feedRetry: fast }).getFeed()).rejects.toThrow(/gave up after 3 attempt/);
    expect(seen).toHaveLength(3);
  });
});

describe("ApiClient.sendEvents", () => {
  const ev = [{ type: "view" as const, video_id: "v1", watch_ms: 1200, ts: new Date().toISOString(), idempotency_key: "k-00000001" }];
  const api = () => new ApiClient({ baseUrl: base, token: () => "t.o.k", eventsTimeoutMs: 300 });

  it("202 → accepted, with the body the contract defines", async () => {
    handler = (_q, body, res) => json(res, 202, { accepted: JSON.parse(body).events.length, queued: true });
    expect(await api().sendEvents(ev)).toEqual({ kind: "accepted", accepted: 1 });
    expect(seen[0]).toMatchObject({ method: "POST", url: "/v1/events", auth: "Bearer t.o.k" });
    expect(JSON.parse(seen[0].body)).toEqual({ events: ev });
  });

  it("maps 503 (with retry-after), 429, 401 and 400 to outcomes instead of throwing", async () => {
    handler = (_q, _b, res) => json(res, 503, { error: { code: "unavailable", message: "queue" } }, { "retry-after": "2" });
    expect(await api().sendEvents(ev)).toMatchObject({ kind: "retry", status: 503, retryAfterMs: 2000 });
    handler = (_q, _b, res) => json(res, 429, { error: { code: "rate_limited", message: "slow down" } });
    expect(await api().sendEvents(ev)).toMatchObject({ kind: "retry", status: 429 });
    handler = (_q, _b, res) => json(res, 401, { error: { code: "unauthorized", message: "expired" } });
    expect(await api().sendEvents(ev)).toMatchObject({ kind: "unauthorized", status: 401 });
    handler = (_q, _b, res) => json(res, 400, { error: { code: "invalid_request", message: "bad", field: "events.0.video_id" } });
    expect(await api().sendEvents(ev)).toMatchObject({ kind: "rejected", status: 400 });
  });

  it("a hung request or a closed port is a retry outcome, never an exception", async () => {
    handler = () => {}; // no answer
    expect(await api().sendEvents(ev)).toMatchObject({ kind: "retry", status: 0 });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const out = await new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: () => "t.o.k" }).sendEvents(ev);
    expect(out.kind).toBe("retry");
  });
});
