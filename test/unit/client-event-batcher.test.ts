import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../../shared/client/api-client.ts";
import { EventBatcher } from "../../shared/client/event-batcher.ts";
import { MemoryEventQueueStore, StorageEventQueueStore } from "../../shared/client/event-queue-store.ts";
import type { FeedEvent } from "../../shared/contract.ts";

// The event batcher over the real API client and a real HTTP server that plays the edge: it records
// every batch and answers with whatever the test scripts (202, 503, 400 for one bad event, silence).
// The invariant under test: an event leaves the queue only on a 202.

type Reply = (events: FeedEvent[], res: ServerResponse) => void;
const accept: Reply = (events, res) => reply(res, 202, { accepted: events.length, queued: true });
let next: Reply = accept;
const batches: FeedEvent[][] = [];
let server: ReturnType<typeof createServer>;
let api: ApiClient;
const live: EventBatcher[] = [];

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const events = (JSON.parse(body) as { events: FeedEvent[] }).events;
      batches.push(events);
      next(events, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  api = new ApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: () => "t.o.k", eventsTimeoutMs: 300 });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  batches.length = 0;
  next = accept;
});
afterEach(() => {
  for (const b of live.splice(0)) b.dispose();
});

function batcher(opts: Partial<ConstructorParameters<typeof EventBatcher>[0]> = {}): EventBatcher {
  let n = 0;
  const b = new EventBatcher({
    send: (events, o) => api.sendEvents(events, o),
    maxBatch: 5, flushMs: 60_000, backoffMs: () => 40, newKey: () => `k-test-${String(++n).padStart(4, "0")}`, ...opts,
  });
  live.push(b);
  return b;
}

async function until(f: () => boolean, what: string, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const keysOf = (bs: FeedEvent[][]) => bs.flat().map((e) => e.idempotency_key);

describe("EventBatcher", () => {
  it("flushes when maxBatch events wait, stamping ts and an idempotency key on each", async () => {
    const b = batcher();
    for (let i = 1; i <= 4; i++) b.track({ type: "view", video_id: `v${i}`, watch_ms: 1000 + i });
    await new Promise((r) => setTimeout(r, 50));
    expect(batches).toHaveLength(0);
    b.track({ type: "like", video_id: "v5" });
    await until(() => b.stats().pending === 0, "ack");
    expect(batches).toHaveLength(1);
    expect(batches[0].map((e) => e.video_id)).toEqual(["v1", "v2", "v3", "v4", "v5"]);
    expect(batches[0][0]).toMatchObject({ type: "view", watch_ms: 1001, idempotency_key: "k-test-0001" });
    expect(Date.parse(batches[0][0].ts)).not.toBeNaN();
    expect(b.stats()).toMatchObject({ acknowledged: 5, failures: 0 });
  });

  it("flushes a partial batch after flushMs", async () => {
    const b = batcher({ flushMs: 80 });
    b.track({ type: "skip", video_id: "v9", watch_ms: 200 });
    await until(() => batches.length === 1, "timed flush");
    expect(batches[0][0]).toMatchObject({ type: "skip", video_id: "v9" });
  });

  it("re-queues on 503 and on silence, and later delivers the same events with the same keys", async () => {
    let calls = 0;
    next = (events, res) => {
      calls++;
      if (calls === 1) return reply(res, 503, { error: { code: "unavailable", message: "queue down" } }, { "retry-after": "0" });
      if (calls === 2) return; // hangs past the client's timeout
      accept(events, res);
    };
    const b = batcher();
    for (let i = 1; i <= 5; i++) b.track({ type: "view", video_id: `v${i}`, watch_ms: 1000 });
    await until(() => b.stats().failures === 1, "first failure");
    expect(b.stats().pending).toBe(5); // nothing dropped on 503
    await until(() => b.stats().pending === 0, "eventual ack");
    expect(calls).toBe(3);
    const [first, , third] = batches;
    expect(keysOf([third])).toEqual(keysOf([first]));
    expect(b.stats()).toMatchObject({ acknowledged: 5, failures: 0, lastError: null });
  });

  it("events tracked during an outage queue up behind the failed batch and all arrive, in order", async () => {
    let down = true;
    next = (events, res) => (down ? reply(res, 503, { error: { code: "unavailable", message: "x" } }) : accept(events, res));
    const b = batcher({ maxBatch: 2 });
    for (let i = 1; i <= 7; i++) {
      b.track({ type: "view", video_id: `v${i}`, watch_ms: 1000 });
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(b.stats().pending).toBe(7);
    const from = batches.length;
    down = false;
    await until(() => b.stats().pending === 0, "drain after outage");
    const keys = Array.from({ length: 7 }, (_, i) => `k-test-${String(i + 1).padStart(4, "0")}`);
    expect(keysOf(batches.slice(from))).toEqual(keys);
    expect(b.stats().acknowledged).toBe(7);
  });

  it("a single invalid event is isolated into dead letters; its neighbours are accepted", async () => {
    next = (events, res) =>
      events.some((e) => e.video_id === "v3")
        ? reply(res, 400, { error: { code: "invalid_request", message: "bad event", field: "events.2.video_id" } })
        : accept(events, res);
    const b = batcher();
    for (let i = 1; i <= 5; i++) b.track({ type: "view", video_id: `v${i}`, watch_ms: 1000 });
    await until(() => b.stats().pending === 0, "settled");
    expect(b.deadLetters().map((e) => e.video_id)).toEqual(["v3"]);
    expect(b.stats()).toMatchObject({ acknowledged: 4, deadLetters: 1 });
  });

  it("keeps unacknowledged events in its store: a new page (new batcher) sends them with the same keys", async () => {
    next = (_e, res) => reply(res, 503, { error: { code: "unavailable", message: "x" } });
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v), removeItem: (k: string) => void mem.delete(k) };
    const first = batcher({ store: new StorageEventQueueStore(storage, "u7") });
    first.track({ type: "like", video_id: "v11" });
    first.track({ type: "view", video_id: "v12", watch_ms: 3000 });
    first.flushOnExit(); // pagehide: fire and forget
    await until(() => batches.length >= 1, "exit flush attempt");
    first.dispose(); // the page is gone
    expect(JSON.parse(mem.get("fyp-events:u7")!)).toHaveLength(2);

    next = accept;
    batches.length = 0;
    const second = batcher({ store: new StorageEventQueueStore(storage, "u7") });
    await until(() => second.stats().pending === 0 && batches.length > 0, "resend on load");
    expect(keysOf(batches)).toEqual(["k-test-0001", "k-test-0002"]);
    expect(mem.has("fyp-events:u7")).toBe(false);
    // Another user's queue is a different key: never sent with this user's token.
    expect(new StorageEventQueueStore(storage, "u8").load()).toEqual([]);
  });

  it("flushOnExit sends everything not already in flight, in ≤100-event requests", async () => {
    const b = batcher({ maxBatch: 1000, store: new MemoryEventQueueStore() });
    for (let i = 1; i <= 230; i++) b.track({ type: "view", video_id: `v${i}`, watch_ms: 1000 });
    b.flushOnExit();
    await until(() => b.stats().pending === 0, "exit flush");
    expect(batches.map((x) => x.length).sort((a, c) => c - a)).toEqual([100, 100, 30]);
    expect(new Set(keysOf(batches)).size).toBe(230);
  });
});
