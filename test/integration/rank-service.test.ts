import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRankingServer, type RankingServer } from "../../gpu-inference/server.ts";
import { registerSyntheticModel } from "../../gpu-inference/tiny-model.ts";
import { f32ToBase64 } from "../../shared/f32-base64.ts";
import { encodeColumnar, type RankResponse } from "../../shared/rank-contract.ts";
import { candidates, user } from "../support/rank-inputs.ts";

// The real ranking service in-process on port 0, over a temp registry holding quickly trained models.
const SECRET = "test-internal-secret";
const dirs: string[] = [];
const servers: RankingServer[] = [];

async function start(over: Parameters<typeof startRankingServer>[0] = {}): Promise<RankingServer> {
  const s = await startRankingServer({ port: 0, modelDir: dirs[0], internalSecret: SECRET, modelPollMs: 50, requireSecret: false, ...over }, { log: () => {} });
  servers.push(s);
  return s;
}

const columnarBody = (n: number, seed = 1, topK?: number) => ({ user, columnar: encodeColumnar(candidates(n, seed)), ...(topK ? { top_k: topK } : {}) });

async function rank(s: RankingServer, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}/v1/rank`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as RankResponse & { error?: { code: string; field?: string } } };
}

const admin = (s: RankingServer, p: string, body?: unknown) =>
  fetch(`${s.url}${p}`, { method: "POST", headers: { "content-type": "application/json", "x-internal-secret": SECRET }, body: JSON.stringify(body ?? {}) });

describe("ranking service", () => {
  let srv: RankingServer;
  let v1: string;

  beforeAll(async () => {
    dirs.push(mkdtempSync(path.join(tmpdir(), "fyp-rank-svc-")));
    v1 = (await registerSyntheticModel(dirs[0], { rows: 3000, epochs: 2, seed: 1 })).version;
    srv = await start({ maxWaitMs: 25, maxBatchRows: 4096 });
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("is healthy and ready with the registry's current model", async () => {
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, model_version: v1 });
  });

  it("ranks columnar and row-form candidates identically, sorted by score, cut to top_k", async () => {
    const c = candidates(50, 3);
    const col = await rank(srv, { user, columnar: encodeColumnar(c), top_k: 10 });
    expect(col.status).toBe(200);
    expect(col.body.model_version).toBe(v1);
    expect(col.body.items).toHaveLength(10);
    const scores = col.body.items.map((i) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(scores.every((x) => x > 0 && x < 1)).toBe(true);
    const rows = c.ids.map((id, i) => ({ id, embedding: Array.from(c.embeddings.subarray(i * 16, i * 16 + 16)), ctx: Array.from(c.ctx.subarray(i * 4, i * 4 + 4)) }));
    const rowForm = await rank(srv, { user, candidates: rows, top_k: 10 });
    expect(rowForm.status).toBe(200);
    expect(rowForm.body.items).toEqual(col.body.items);
    expect(col.body.batch_rows).toBeGreaterThanOrEqual(50);
    expect(col.body.timing_ms).toMatchObject({ queue: expect.any(Number), infer: expect.any(Number) });
  });

  it("serves the same scores from the wasm backend (RANK_BACKEND=wasm)", async () => {
    const wasm = await start({ backend: "wasm" });
    const body = columnarBody(200, 9);
    const [a, b] = [await rank(srv, body), await rank(wasm, body)];
    expect(b.status).toBe(200);
    expect(b.body.items.map((i) => i.id)).toEqual(a.body.items.map((i) => i.id));
    a.body.items.forEach((it, i) => expect(Math.abs(it.score - b.body.items[i].score)).toBeLessThan(1e-4));
  });

  it("accepts numeric ids (what the origin sends) and echoes them back as numbers", async () => {
    const c = candidates(5, 4);
    const r = await rank(srv, { user, columnar: { ids: [11, 12, 13, 14, 15], embeddings: f32ToBase64(c.embeddings), ctx: f32ToBase64(c.ctx) } });
    expect(r.status).toBe(200);
    expect(r.body.items.map((i) => i.id).sort()).toEqual([11, 12, 13, 14, 15]);
  });

  it("batches concurrent requests into one session.run", async () => {
    // A batch goes out when it is full (12 × 20 rows) or after maxWaitMs: a long wait and an exact size make
    // the outcome independent of how fast a loaded machine gets the 12 requests in.
    const s = await start({ maxBatchRows: 240, maxWaitMs: 1000 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => rank(s, columnarBody(20, 100 + i))));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.map((r) => r.body.batch_rows)).toEqual(new Array(12).fill(240));
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1]);
    expect(num("fyp_rank_batches_total")).toBeLessThan(Number(/fyp_rank_requests_total\{status="200"\} (\d+)/.exec(metrics)?.[1]));
  });

  it("answers bad input with 4xx naming the field, never 5xx", async () => {
    const c = candidates(3, 5);
    const good = { ids: c.ids, embeddings: f32ToBase64(c.embeddings), ctx: f32ToBase64(c.ctx) };
    const cases: Array<[unknown, string]> = [
      ["{not json", "body"],
      [[1, 2], "body"],
      [{ columnar: good }, "user"],
      [{ user: { id: "u", embedding: [1, 2, 3] }, columnar: good }, "user.embedding"],
      [{ user, columnar: { ...good, embeddings: "%%%not-base64%%%" } }, "columnar.embeddings"],
      [{ user, columnar: { ...good, ctx: f32ToBase64(new Float32Array(5)) } }, "columnar.ctx"],
      [{ user, columnar: { ...good, embeddings: f32ToBase64(new Float32Array(48).fill(Number.NaN)) } }, "columnar.embeddings"],
      [{ user, columnar: { ...good, ids: ["", "b", "c"] } }, "columnar.ids.0"],
      [{ user }, "candidates"],
      [{ user, columnar: good, candidates: [] }, "candidates"],
      [{ user, candidates: [{ id: "a", embedding: new Array(16).fill(0), ctx: [1, 2] }] }, "candidates.0.ctx"],
      [{ user, columnar: good, top_k: 0 }, "top_k"],
    ];
    for (const [body, field] of cases) {
      const r = await rank(srv, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body.error?.field, JSON.stringify(body).slice(0, 80)).toBe(field);
    }
    const nf = await fetch(`${srv.url}/v1/nope`);
    expect(nf.status).toBe(404);
  });

  it("guards admin endpoints, and /v1/rank too when RANK_REQUIRE_SECRET is on", async () => {
    expect((await fetch(`${srv.url}/v1/admin/reload`, { method: "POST" })).status).toBe(401);
    const guarded = await start({ requireSecret: true });
    const denied = await rank(guarded, columnarBody(3));
    expect(denied.status).toBe(401);
    expect(denied.body.error?.field).toBe("x-internal-secret");
    expect((await rank(guarded, columnarBody(3), { "x-internal-secret": "wrong" })).status).toBe(401);
    expect((await rank(guarded, columnarBody(3), { "x-internal-secret": SECRET })).status).toBe(200);
  });

  it("starts with an empty registry: not ready and 503 until a model is registered, then serves it", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "fyp-rank-empty-"));
    dirs.push(empty);
    const s = await start({ modelDir: empty, maxBodyBytes: 4096 });
    expect((await fetch(`${s.url}/readyz`)).status).toBe(503);
    const r = await rank(s, columnarBody(3));
    expect(r.status).toBe(503);
    expect(r.body.error?.code).toBe("model_not_ready");
    expect(r.headers.get("retry-after")).toBe("1");
    const big = await rank(s, columnarBody(200)); // ~17 KB > 4 KB limit
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: "payload_too_large", field: "body" }); // as on the edge and the origins
    const v = (await registerSyntheticModel(empty, { rows: 1000, epochs: 1, seed: 5 })).version;
    for (let i = 0; i < 100 && (await fetch(`${s.url}/readyz`)).status !== 200; i++) await new Promise((res) => setTimeout(res, 20));
    const ok = await rank(s, columnarBody(3));
    expect(ok.status).toBe(200);
    expect(ok.body.model_version).toBe(v);
  });

  it("sheds load beyond the bounded queue with 503 + retry-after", async () => {
    const small = await start({ maxQueueRows: 250, maxBatchRows: 100, maxWaitMs: 0 });
    await admin(small, "/v1/admin/fault", { delay_ms: 150 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => rank(small, columnarBody(100, i))));
    const shed = results.filter((r) => r.status === 503);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(2);
    expect(shed.length).toBeGreaterThan(0);
    expect(shed.every((r) => r.body.error?.code === "overloaded" && Number(r.headers.get("retry-after")) >= 1)).toBe(true);
    expect(results.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    await admin(small, "/v1/admin/fault", { delay_ms: 0 });
  });

  it("hot-reloads a newly registered version under load without a failed request", async () => {
    let stop = false;
    const seen = new Set<string>();
    const statuses: number[] = [];
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const r = await rank(srv, columnarBody(30, w * 1000 + i));
        statuses.push(r.status);
        if (r.status === 200) seen.add(r.body.model_version);
      }
    };
    const workers = Array.from({ length: 4 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 100));
    const v2 = (await registerSyntheticModel(dirs[0], { rows: 3000, epochs: 2, seed: 2 })).version;
    const until = Date.now() + 10_000;
    while (!(seen.has(v2) && statuses.length > 50) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(workers);
    expect(seen.has(v1)).toBe(true);
    expect(seen.has(v2)).toBe(true);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const ready = (await (await fetch(`${srv.url}/readyz`)).json()) as { model_version: string };
    expect(ready.model_version).toBe(v2);
  });

  it("exports Prometheus metrics, including the HPA's fyp_latency_p99_ms", async () => {
    const res = await fetch(`${srv.url}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await res.text();
    for (const m of [
      /^# TYPE fyp_rank_requests_total counter$/m,
      /^fyp_rank_requests_total\{status="200"\} \d+$/m,
      /^fyp_rank_requests_total\{status="400"\} \d+$/m,
      /^fyp_rank_latency_ms_bucket\{le="\+Inf"\} \d+$/m,
      /^fyp_rank_batch_size_bucket\{le="16"\} \d+$/m,
      /^# TYPE fyp_latency_p99_ms gauge$/m,
      /^fyp_model_info\{version="m[^"]+"\} 1$/m,
      /^fyp_model_auc\{model="popularity_baseline"\} 0\.\d+$/m,
    ]) expect(text).toMatch(m);
    const p99 = Number(/^fyp_latency_p99_ms (\S+)$/m.exec(text)?.[1]);
    expect(p99).toBeGreaterThan(0);
  });

  it("drains on close: admitted requests finish, new ones are refused, then the listener closes", async () => {
    const s = await start({ faultDelayMs: 300, maxWaitMs: 0 });
    const inflight = rank(s, columnarBody(10));
    await new Promise((r) => setTimeout(r, 100)); // admitted and running (inside the injected delay)
    const closing = s.close();
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("connection")).toBe("close");
    const late = await rank(s, columnarBody(10));
    expect(late.status).toBe(503);
    expect(late.body.error?.code).toBe("shutting_down");
    expect((await inflight).status).toBe(200);
    const t0 = Date.now();
    await closing;
    expect(Date.now() - t0).toBeLessThan(900); // no keep-alive socket held it open until the forced cut
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
