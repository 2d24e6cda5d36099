import { mkdtempSync, rmSync } from "node:fs";
import { freePort } from "../../scripts/local/free-port.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis } from "../../scripts/local/redis.ts";
import { startUpstashBridge } from "../../scripts/local/upstash-bridge.ts";

// The bridge is only useful if the real, unmodified @upstash/redis client works against it, so every
// case goes through that client (plus raw fetch where the client cannot express the case: binary).

const TOKEN = "test-token";


let dir: string;
let redisSrv: Awaited<ReturnType<typeof startRedis>>;
let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
let client: Redis;
let raw: IORedis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "upstash-bridge-"));
  redisSrv = await startRedis({ port: await freePort(), dir, name: "redis-test" });
  bridge = await startUpstashBridge({ port: 0, redisPort: redisSrv.port, token: TOKEN });
  client = new Redis({ url: bridge.url, token: TOKEN, enableTelemetry: false });
  raw = new IORedis({ port: redisSrv.port, lazyConnect: true });
  await raw.connect();
});

afterAll(async () => {
  raw?.disconnect();
  await bridge?.close();
  await redisSrv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("upstash bridge with the real @upstash/redis client", () => {
  it("sets and gets strings, including non-ASCII, byte-exact in redis", async () => {
    expect(await client.set("s1", "hello")).toBe("OK");
    expect(await client.get("s1")).toBe("hello");
    const text = "héllo ✓ 🚀 \u0000 end";
    await client.set("s2", text);
    expect(await client.get("s2")).toBe(text);
    expect((await raw.getBuffer("s2"))?.equals(Buffer.from(text, "utf8"))).toBe(true);
  });

  it("deserializes JSON automatically, and not when turned off", async () => {
    await client.set("j1", { a: 1, b: [true, null, "x"] });
    expect(await client.get("j1")).toEqual({ a: 1, b: [true, null, "x"] });
    const plain = new Redis({ url: bridge.url, token: TOKEN, automaticDeserialization: false, enableTelemetry: false });
    expect(await plain.get("j1")).toBe('{"a":1,"b":[true,null,"x"]}');
    await client.set("n1", 42);
    expect(await client.get("n1")).toBe(42);
    expect(await plain.get("n1")).toBe("42");
  });

  it("round-trips binary values exactly (path-style POST body, base64 response)", async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const auth = { authorization: `Bearer ${TOKEN}` };
    const put = await fetch(`${bridge.url}/set/bin`, { method: "POST", headers: auth, body: bytes });
    expect(await put.json()).toEqual({ result: "OK" });
    expect((await raw.getBuffer("bin"))?.equals(bytes)).toBe(true);
    const got = await fetch(`${bridge.url}/get/bin`, { headers: { ...auth, "upstash-encoding": "base64" } });
    const body = (await got.json()) as { result: string };
    expect(Buffer.from(body.result, "base64").equals(bytes)).toBe(true);
    // Through the client, binary travels as base64 text (its decoder is UTF-8 only); that must be exact.
    await client.set("bin64", bytes.toString("base64"));
    expect(Buffer.from((await client.get<string>("bin64")) ?? "", "base64").equals(bytes)).toBe(true);
  });

  it("returns null for a missing key and nil inside mget", async () => {
    expect(await client.get("missing-key")).toBeNull();
    await client.set("m1", "a");
    await client.set("m3", "c");
    expect(await client.mget("m1", "m2", "m3")).toEqual(["a", null, "c"]);
  });

  it("handles hashes, counters, expiry and sorted sets", async () => {
    expect(await client.hset("h1", { name: "ann", age: 7 })).toBe(2);
    expect(await client.hgetall("h1")).toEqual({ name: "ann", age: 7 });
    expect(await client.hget("h1", "name")).toBe("ann");
    expect(await client.incr("c1")).toBe(1);
    expect(await client.incrby("c1", 10)).toBe(11);
    await client.set("e1", "x");
    expect(await client.expire("e1", 100)).toBe(1);
    const ttl = await client.ttl("e1");
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await client.ttl("missing-key")).toBe(-2);
    expect(await client.zadd("z1", { score: 2, member: "b" }, { score: 1, member: "a" }, { score: 3, member: "c" })).toBe(3);
    expect(await client.zrange("z1", 0, -1)).toEqual(["a", "b", "c"]);
    expect(await client.zrange("z1", 0, 1, { withScores: true })).toEqual(["a", 1, "b", 2]);
  });

  it("runs a pipeline; an error in one command does not stop the others", async () => {
    await client.set("p-str", "not-a-number");
    const p = client.pipeline();
    p.set("p-before", "1");
    p.incr("p-str");
    p.set("p-after", "2");
    await expect(p.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    expect(await client.get("p-before")).toBe(1);
    expect(await client.get("p-after")).toBe(2);

    const q = client.pipeline();
    q.incr("p-count");
    q.incr("p-str");
    q.get("p-count");
    const res = await q.exec({ keepErrors: true });
    expect(res[0]).toEqual({ result: 1, error: undefined });
    expect(res[1].error).toMatch(/not an integer/);
    expect(res[2].result).toBe(1);
  });

  it("runs MULTI/EXEC transactions, with per-command runtime errors", async () => {
    const tx = client.multi();
    tx.set("t1", "5");
    tx.incr("t1");
    tx.get("t1");
    expect(await tx.exec()).toEqual(["OK", 6, 6]);

    const bad = client.multi();
    bad.set("t2", "abc");
    bad.incr("t2");
    bad.set("t3", "x");
    const res = await bad.exec({ keepErrors: true });
    expect(res[1].error).toMatch(/not an integer/);
    expect(await client.get("t3")).toBe("x");

    // A command rejected while queueing aborts the whole transaction (and leaves the connection clean).
    const r = await fetch(`${bridge.url}/multi-exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify([["SET", "t4", "1"], ["NOSUCHCMD"]]),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/EXECABORT.*unknown command/);
    expect(await client.get("t4")).toBeNull();
  });

  it("keeps transactions atomic under concurrent load", async () => {
    const work = Array.from({ length: 40 }, (_, i) =>
      i % 2 ? client.multi().incr("cc").incr("cc").exec() : client.pipeline().incr("cc").get("cc").exec(),
    );
    await Promise.all(work);
    expect(await client.get("cc")).toBe(60);
  });

  it("rejects a wrong token", async () => {
    const bad = new Redis({ url: bridge.url, token: "wrong", enableTelemetry: false });
    await expect(bad.get("s1")).rejects.toThrow(/Unauthorized/);
    const r = await fetch(`${bridge.url}/`, { method: "POST", body: '["PING"]' });
    expect(r.status).toBe(401);
  });

  it("answers redis errors with 400 {error} and refuses connection-state commands", async () => {
    await expect(client.eval("return redis.error_reply('boom')", [], [])).rejects.toThrow(/boom/);
    const r = await fetch(`${bridge.url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(["SELECT", "1"]),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/not supported/);
  });

  it("supports path-style commands, ?_token auth, and caps the body size", async () => {
    const get = async (path: string) => (await fetch(`${bridge.url}${path}`)).json();
    expect(await get(`/set/ps/hello%20world?_token=${TOKEN}`)).toEqual({ result: "OK" });
    expect(await get(`/get/ps?_token=${TOKEN}`)).toEqual({ result: "hello world" });
    expect(await get(`/incrby/ps-n/5?_token=${TOKEN}`)).toEqual({ result: 5 });
    const big = await fetch(`${bridge.url}/set/big`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: Buffer.alloc(11 * 1024 * 1024, 1),
    });
    expect(big.status).toBe(413);
  });

  it("fails fast while redis is paused or stopped, and recovers", async () => {
    redisSrv.pause();
    let t = Date.now();
    await expect(client.get("s1")).rejects.toThrow(/unavailable/);
    expect(Date.now() - t).toBeLessThan(2000);
    redisSrv.resume();
    expect(await client.get("s1")).toBe("hello");

    await redisSrv.stop();
    t = Date.now();
    await expect(client.set("down", "1")).rejects.toThrow(/unavailable/);
    expect(Date.now() - t).toBeLessThan(2000);

    await redisSrv.restart();
    const deadline = Date.now() + 5000;
    let ok: unknown = null;
    while (Date.now() < deadline) {
      ok = await client.set("up", "1").catch(() => null);
      if (ok === "OK") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok).toBe("OK");
    expect(await client.get("s1")).toBeNull(); // no persistence: a restart is a cold cache
  });
});
