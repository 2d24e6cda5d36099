import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportOnnx } from "../../gpu-inference/model/onnx-export.ts";
import { zeroParams } from "../../gpu-inference/model/network.ts";
import { ModelRegistry } from "../../gpu-inference/registry.ts";
import { startRankingServer, type RankingServer } from "../../gpu-inference/server.ts";
import { registerSyntheticModel } from "../../gpu-inference/tiny-model.ts";
import { RankingError, isRetryableRankingError, rank as clientRank, type RankColumnarInput } from "../../origin/ranking-client.ts";
import { RETRY } from "../../shared/config.ts";
import { FEATURE_ABS_MAX, encodeColumnar, type RankResponse } from "../../shared/rank-contract.ts";
import { retry } from "../../shared/retry.ts";
import { createRng } from "../../gpu-inference/train/rng.ts";
import { candidates, user } from "../support/rank-inputs.ts";

// Issue 11 §6: no non-finite number enters or leaves the ranking path. The real ranking service
// (in-process, port 0, onnxruntime-node CPU) over a registry holding a quickly trained model.
const SECRET = "test-internal-secret";
const B = FEATURE_ABS_MAX;
let dir: string;
let srv: RankingServer;
let v1: string;

const rowsOf = (c: ReturnType<typeof candidates>) =>
  c.ids.map((id, i) => ({ id, embedding: Array.from(c.embeddings.subarray(i * 16, i * 16 + 16)), ctx: Array.from(c.ctx.subarray(i * 4, i * 4 + 4)) }));

type Answer = RankResponse & { error?: { code: string; message: string; field?: string } };
async function post(body: unknown, s: RankingServer = srv): Promise<{ status: number; text: string; body: Answer }> {
  const res = await fetch(`${s.url}/v1/rank`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Answer };
}
const metric = async (s: RankingServer, line: RegExp) => Number(line.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "fyp-rank-inputs-"));
  v1 = (await registerSyntheticModel(dir, { rows: 3000, epochs: 2, seed: 1 })).version;
  srv = await startRankingServer({ port: 0, modelDir: dir, internalSecret: SECRET, modelPollMs: 50, requireSecret: false, maxWaitMs: 50 }, { log: () => {} });
});
afterAll(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ranking service: non-finite and out-of-range inputs", () => {
  it("the reported case: one candidate with 1e38 embedding values is a 400 naming it, not a first row with score null", async () => {
    const rows = rowsOf(candidates(3, 1));
    rows[1].embedding = rows[1].embedding.map((_, d) => (d % 2 ? 1e38 : -1e38));
    const r = await post({ user: { ...user, embedding: user.embedding.map(() => 1e38) }, candidates: rows });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "invalid_request", field: "user.embedding.0" });
    const only = await post({ user, candidates: rows });
    expect(only.status).toBe(400);
    expect(only.body.error).toMatchObject({ field: "candidates.1.embedding.0", message: `must be a finite number in [-${B}, ${B}]` });
  });

  it("every bad value in every input gets a 400 with its field (columnar, row form, user; 1e38, NaN, ±Infinity, just past the bound)", async () => {
    for (const bad of [1e38, -1e38, Number.NaN, Infinity, -Infinity, B * 1.001]) {
      const c = candidates(4, 2);
      c.embeddings[2 * 16 + 7] = bad;
      const e = await post({ user, columnar: encodeColumnar(c) });
      expect([e.status, e.body.error?.field], String(bad)).toEqual([400, "columnar.embeddings"]);
      expect(e.body.error?.message).toMatch(/^row 2, value 7 is /);
      const c2 = candidates(4, 2);
      c2.ctx[3 * 4 + 1] = bad;
      const x = await post({ user, columnar: encodeColumnar(c2) });
      expect([x.status, x.body.error?.field], String(bad)).toEqual([400, "columnar.ctx"]);
      expect(x.body.error?.message).toMatch(/^row 3, value 1 is /);
    }
    // JSON has no NaN/Infinity literals: 1e999 parses as Infinity, a number beyond the bound is refused by the schema.
    const json = JSON.stringify({ user, candidates: rowsOf(candidates(2, 3)) });
    const inf = json.replace(/("ctx":\[)[^,\]]+/, "$11e999");
    expect(inf).not.toBe(json);
    const r1 = await post(inf);
    expect([r1.status, r1.body.error?.field]).toEqual([400, "candidates.0.ctx.0"]);
    const r2 = await post(JSON.stringify({ user: { ...user, embedding: user.embedding.map((x, i) => (i === 5 ? -9 : x)) }, columnar: encodeColumnar(candidates(2, 3)) }));
    expect([r2.status, r2.body.error?.field]).toEqual([400, "user.embedding.5"]);
    expect(await metric(srv, /^fyp_rank_requests_total\{status="500"\} (\d+)$/m)).toBe(0);
  });

  it("scores are always finite probabilities, also for inputs at the edge of the range (never null in the JSON)", async () => {
    const n = 64;
    const rng = createRng(7);
    const corner = () => (rng.next() < 0.5 ? -B : B);
    const c = { ids: Array.from({ length: n }, (_, i) => i + 1), embeddings: Float32Array.from({ length: n * 16 }, corner), ctx: Float32Array.from({ length: n * 4 }, corner) };
    for (const u of [user.embedding.map(() => B), user.embedding.map(() => -B), user.embedding.map(corner)]) {
      const r = await post({ user: { id: "u", embedding: u }, columnar: encodeColumnar(c) });
      expect(r.status).toBe(200);
      expect(r.text).not.toContain("null");
      expect(r.body.items).toHaveLength(n);
      for (const it of r.body.items) expect(Number.isFinite(it.score) && it.score >= 0 && it.score <= 1).toBe(true);
    }
    expect(await metric(srv, /^fyp_rank_nonfinite_scores_total (\d+)$/m)).toBe(0);
  });

  it("a bad request fails alone: concurrent good requests in the same micro-batch still get 200 with finite scores", async () => {
    const bad = candidates(30, 5);
    bad.embeddings[10 * 16] = Number.NaN;
    const hugeRows = rowsOf(candidates(5, 6));
    hugeRows[4].ctx[2] = 1e38;
    const goods = [candidates(40, 7), candidates(25, 8), candidates(35, 9)];
    // The batch goes out when full: exactly the good rows (100), so its size shows who rode in it, whatever
    // the order the five requests arrive in (maxWaitMs is only a backstop).
    const s = await startRankingServer({ port: 0, modelDir: dir, requireSecret: false, maxBatchRows: 100, maxWaitMs: 1000 }, { log: () => {} });
    const results = await Promise.all([
      post({ user, columnar: encodeColumnar(goods[0]) }, s),
      post({ user, columnar: encodeColumnar(bad) }, s),
      post({ user, columnar: encodeColumnar(goods[1]) }, s),
      post({ user, candidates: hugeRows }, s),
      post({ user, columnar: encodeColumnar(goods[2]) }, s),
    ]).finally(() => s.close());
    expect(results.map((r) => r.status)).toEqual([200, 400, 200, 400, 200]);
    expect(results[1].body.error?.field).toBe("columnar.embeddings");
    expect(results[3].body.error?.field).toBe("candidates.4.ctx.2");
    const ok = [results[0], results[2], results[4]];
    // All three good requests rode in one session.run of exactly their rows: the bad ones never joined it.
    for (const r of ok) expect(r.body.batch_rows).toBe(40 + 25 + 35);
    ok.forEach((r, i) => {
      expect(r.body.items.map((it) => it.id).sort()).toEqual([...goods[i].ids].sort());
      for (const it of r.body.items) expect(Number.isFinite(it.score)).toBe(true);
    });
  });

  it("a registered model that answers NaN is never loaded: the service keeps serving the previous version", async () => {
    const nan = zeroParams();
    nan.b3[0] = Number.NaN;
    const errorsBefore = await metric(srv, /^fyp_model_reloads_total\{result="error"\} (\d+)$/m);
    // Straight into the registry (publishModel would refuse it), with plausible metrics.
    const bad = await new ModelRegistry(dir).register(exportOnnx(nan), {
      auc: 0.7, logloss: 0.6, baseline_auc: 0.6, baseline_logloss: 0.65, rows: 1, data_window: { from: null, to: null },
    });
    for (let i = 0; i < 100 && (await metric(srv, /^fyp_model_reloads_total\{result="error"\} (\d+)$/m)) === errorsBefore; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const reload = await fetch(`${srv.url}/v1/admin/reload`, { method: "POST", headers: { "x-internal-secret": SECRET } });
    expect(reload.status).toBe(503);
    expect(((await reload.json()) as { error: { message: string } }).error.message).toMatch(/returned score NaN .*refusing to serve it/);
    const r = await post({ user, columnar: encodeColumnar(candidates(5, 10)) });
    expect(r.status).toBe(200);
    expect(r.body.model_version).toBe(v1);
    expect(r.body.model_version).not.toBe(bad.version);
    await new ModelRegistry(dir).rollback(v1);
  });
});

describe("origin ranking client against the real service", () => {
  const input = (n: number, seed: number): RankColumnarInput => {
    const c = candidates(n, seed);
    return { userId: "u1", userEmb: Float32Array.from(user.embedding), ids: c.ids, embeddings: c.embeddings, ctx: c.ctx, topK: n };
  };

  it("leaves out candidates with corrupt features (NaN, 1e38) and ranks the rest", async () => {
    const inp = input(20, 11);
    inp.embeddings[3 * 16 + 2] = Number.NaN;
    inp.ctx[17 * 4] = 1e38;
    inp.embeddings[17 * 16 + 15] = -Infinity;
    const out = await clientRank(srv.url, inp, 2000, SECRET);
    expect(out.dropped).toEqual([inp.ids[3], inp.ids[17]]);
    expect(out.items.map((i) => i.id).sort()).toEqual(inp.ids.filter((_, i) => i !== 3 && i !== 17).sort());
    for (const it of out.items) expect(Number.isFinite(it.score)).toBe(true);
  });

  it("a corrupt user embedding fails permanently without a request", async () => {
    const before = await metric(srv, /^fyp_rank_requests_total\{status="200"\} (\d+)$/m);
    const inp = input(5, 12);
    inp.userEmb[4] = Number.NaN;
    const err = await clientRank(srv.url, inp, 2000, SECRET).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RankingError);
    expect(err).toMatchObject({ permanent: true, message: expect.stringMatching(/user embedding not rankable: row 0, value 4 is NaN/) });
    expect(isRetryableRankingError(err)).toBe(false);
    expect(await metric(srv, /^fyp_rank_requests_total\{status="200"\} (\d+)$/m)).toBe(before);
  });

  it("a 400 from the ranker is permanent: the ML retry policy makes one call and goes to the fallback; a 5xx is retried", async () => {
    // The production policy (1 retry after 20 ms ± 20%), with a per-try timeout a busy CI box always meets:
    // a timed-out try is retried whatever the error, and this test is about the error kinds.
    const policy = { ...RETRY.mlInference, perTryTimeoutMs: 5000 };
    let calls = 0;
    const call = (inp: RankColumnarInput) => () => (calls++, clientRank(srv.url, inp, 2000, SECRET));
    const refused = { ...input(3, 13), ids: ["ok", "", "also-ok"] }; // an empty id is refused by the contract
    const err = await retry(call(refused), policy, { retryable: isRetryableRankingError }).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(err).toMatchObject({ status: 400, permanent: true, message: expect.stringContaining('"field":"columnar.ids.1"') });

    calls = 0;
    await fetch(`${srv.url}/v1/admin/fault`, { method: "POST", headers: { "content-type": "application/json", "x-internal-secret": SECRET }, body: JSON.stringify({ fail_rate: 1 }) });
    try {
      const e5 = await retry(call(input(3, 14)), policy, { retryable: isRetryableRankingError }).catch((e: unknown) => e);
      expect(calls).toBe(policy.retries + 1);
      expect((e5 as Error).message).toMatch(/gave up after 2 attempt\(s\).*answered 500/);
    } finally {
      await fetch(`${srv.url}/v1/admin/fault`, { method: "POST", headers: { "content-type": "application/json", "x-internal-secret": SECRET }, body: JSON.stringify({ fail_rate: 0 }) });
    }
  });

  it("refuses a response whose score is null (what the service used to send) as a permanent fault", async () => {
    // A misbehaving peer, not our service: the old answer shape for the 1e38 case.
    const peer: Server = createServer((_, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ model_version: "m1", items: [{ id: "v1", score: null }, { id: "v0", score: 0.4 }], batch_rows: 2, timing_ms: { queue: 0, infer: 0 } }));
    });
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`;
      const err = await clientRank(url, input(2, 15), 2000, SECRET).catch((e: unknown) => e);
      expect(err).toMatchObject({ permanent: true, message: expect.stringMatching(/malformed ranking response at items\.0\.score/) });
    } finally {
      await new Promise((r) => peer.close(r));
    }
  });
});

describe("ranking service: request framing (the same kinds as the edge and the origins)", () => {
  const good = () => JSON.stringify({ user, candidates: rowsOf(candidates(3, 1)), top_k: 2 });
  const raw = (path: string, body: BodyInit | undefined, headers: Record<string, string> = {}) => fetch(`${srv.url}${path}`, { method: "POST", headers, body });
  const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; field?: string } }).error;

  it("a JSON-body route refuses text/plain, a form and no content-type with 415 naming content-type; application/json with a charset is fine", async () => {
    for (const path of ["/v1/rank", "/v1/admin/fault"]) {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
        const body = type ? good() : new TextEncoder().encode(good()); // a string body would get text/plain from fetch
        const r = await raw(path, body, { "x-internal-secret": SECRET, ...(type ? { "content-type": type } : {}) });
        expect(r.status, `${path} ${type}`).toBe(415);
        expect(await errorOf(r), `${path} ${type}`).toMatchObject({ code: "unsupported_media_type", field: "content-type" });
      }
    }
    expect((await raw("/v1/rank", good(), { "content-type": "application/json; charset=utf-8" })).status).toBe(200);
  });

  it("a body that is not an object is a 400 naming body", async () => {
    for (const path of ["/v1/rank", "/v1/admin/fault"]) {
      for (const b of ["null", "[]", "123", '"x"']) {
        const r = await raw(path, b, { "content-type": "application/json", "x-internal-secret": SECRET });
        expect(r.status, `${path} ${b}`).toBe(400);
        expect((await errorOf(r)).field, `${path} ${b}`).toBe("body");
      }
    }
  });

  it("a repeated query parameter is a 400 naming it", async () => {
    const r = await raw("/v1/admin/features/refresh?full=1&full=0", undefined, { "x-internal-secret": SECRET });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).field).toBe("full");
  });
});
