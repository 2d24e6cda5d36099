import { describe, expect, it } from "vitest";
import { FeatureTable, type VideoFeatureRow } from "../../gpu-inference/feature-table.ts";
import { U64Index } from "../../gpu-inference/u64-index.ts";
import { contextFeatures } from "../../shared/rank-contract.ts";
import { IdFormatError, decodeIds, encodeIds, formatId, packIds, unpackIds } from "../../shared/u64-ids.ts";

// The ranking service's video feature table (issue 13) and the packed id codec of the by-ids request.

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 10);
const emb = (seed: number) => Array.from({ length: 16 }, (_, d) => Math.round(Math.sin(seed * 7 + d) * 1000) / 4000);
const row = (id: number | string, over: Partial<VideoFeatureRow> = {}): VideoFeatureRow => ({
  id: String(id), author: String(1000 + (Number(id) % 3)), embedding: emb(Number(id) % 1000), views: 100 * Number(id) % 1e6, likes: 7,
  createdMs: NOW - 2 * DAY, active: true, ...over,
});

function gather(t: FeatureTable, ids: string[], followees: string[] = [], now = NOW) {
  const video = new Float32Array(ids.length * 16);
  const ctx = new Float32Array(ids.length * 4);
  const { missing } = t.gather(packIds(ids), followees.length ? packIds(followees) : null, now, video, ctx);
  return { video, ctx, missing };
}

describe("packed uint64 ids", () => {
  it("round-trips seeded ids, upload ids beyond 2^53 and the uint64 maximum", () => {
    const ids = ["0", "1", "4294967295", "4294967296", "9007199254740993", "1234567890123456789", "18446744073709551615"];
    expect(unpackIds(packIds(ids))).toEqual(ids);
    expect(unpackIds(decodeIds(encodeIds(ids))!)).toEqual(ids);
    const [lo, hi] = packIds(["9007199254740993"]);
    expect(formatId(lo, hi)).toBe("9007199254740993"); // 2^53 + 1: not representable as a double
  });

  it("refuses what is not a decimal uint64; decodeIds refuses bad base64 and partial ids", () => {
    for (const bad of ["", "-1", "v12", "1.5", " 1", "18446744073709551616", "123456789012345678901"]) {
      expect(() => packIds([bad])).toThrow(IdFormatError);
    }
    expect(decodeIds("not base64!")).toBeNull();
    expect(decodeIds(Buffer.from([1, 2, 3, 4]).toString("base64"))).toBeNull(); // 4 bytes: half an id
    expect(decodeIds("")).toEqual(new Uint32Array(0));
  });
});

describe("U64Index", () => {
  it("finds every key it holds across growth, -1 for the others; a set replaces", () => {
    const ix = new U64Index(4);
    for (let i = 0; i < 5000; i++) ix.set(i * 7919, i % 3, i);
    expect(ix.size).toBe(5000);
    for (let i = 0; i < 5000; i++) expect(ix.get(i * 7919, i % 3)).toBe(i);
    expect(ix.get(7919, 2)).toBe(-1);
    ix.set(0, 0, 42);
    expect(ix.get(0, 0)).toBe(42);
    expect(ix.size).toBe(5000);
  });
});

describe("FeatureTable", () => {
  it("gathers each candidate's embedding and the context formula of shared/rank-contract.ts, followed authors included", () => {
    const t = new FeatureTable(1);
    t.upsert([row(1), row(2, { views: 5000, likes: 400, createdMs: NOW - 10 * DAY }), row(3)]);
    const { video, ctx, missing } = gather(t, ["2", "1"], ["1002"]);
    expect(missing).toEqual([]);
    expect(Array.from(video.subarray(0, 16))).toEqual(Array.from(Float32Array.from(emb(2))));
    expect(Array.from(video.subarray(16, 32))).toEqual(Array.from(Float32Array.from(emb(1))));
    const expect2 = contextFeatures(5000, 400, true, 10); // author 1002 of video 2 is followed
    const expect1 = contextFeatures(100, 7, false, 2);
    Array.from(ctx).forEach((v, i) => expect(v).toBeCloseTo([...expect2, ...expect1][i], 6));
  });

  it("scores ids it does not hold from the cold item features (mean embedding, no views, not followed, age 0) and reports them", () => {
    const t = new FeatureTable(1);
    t.upsert([row(1), row(2)]);
    const { video, ctx, missing } = gather(t, ["1", "999", "18446744073709551615"], ["1000", "1001", "1002"]);
    expect(missing).toEqual([1, 2]);
    const mean = emb(1).map((x, d) => (x + emb(2)[d]) / 2);
    for (const at of [1, 2]) {
      Array.from(video.subarray(at * 16, at * 16 + 16)).forEach((v, d) => expect(v).toBeCloseTo(mean[d], 6));
      expect(Array.from(ctx.subarray(at * 4, at * 4 + 4))).toEqual([0, 0, 0, 1]);
    }
  });

  it("versions: <generation>.<delta>, the delta counting upserts that changed something", () => {
    const t = new FeatureTable(3);
    expect(t.version).toBe("3.0");
    t.upsert([row(1)]);
    expect(t.version).toBe("3.1");
    t.upsert([]);
    t.upsert([row(9, { active: false })]); // deactivating a row it does not hold changes nothing
    expect(t.version).toBe("3.1");
    expect(t.upsert([row(1)])).toEqual({ changed: 0, rejected: 0 }); // re-read unchanged: same version
    expect(t.version).toBe("3.1");
    t.upsert([row(1, { views: 1 })]);
    expect(t.version).toBe("3.2");
  });

  it("a removed video reads as missing, a re-activated one comes back; the cold embedding follows the active rows", () => {
    const t = new FeatureTable(1);
    t.upsert([row(1), row(2)]);
    t.upsert([row(2, { active: false })]);
    expect(t.size).toBe(1);
    expect(gather(t, ["2"]).missing).toEqual([0]);
    Array.from(t.coldEmbedding()).forEach((v, d) => expect(v).toBeCloseTo(emb(1)[d], 6));
    t.upsert([row(2, { embedding: emb(5) })]);
    expect(t.size).toBe(2);
    expect(gather(t, ["2"]).missing).toEqual([]);
    expect(Array.from(t.lookup("2")!.embedding)).toEqual(Array.from(Float32Array.from(emb(5))));
  });

  it("refuses rows with a bad id or embedding (NaN, 1e38, wrong length) and keeps what it had for them", () => {
    const t = new FeatureTable(1);
    t.upsert([row(1)]);
    const bad = [
      row(1, { embedding: emb(1).map((x, d) => (d === 3 ? Number.NaN : x)) }),
      row(2, { embedding: emb(2).map((x, d) => (d === 0 ? 1e38 : x)) }),
      row(3, { embedding: emb(3).slice(0, 15) }),
      row("v4"),
    ];
    expect(t.upsert(bad)).toEqual({ changed: 0, rejected: 4 });
    expect(t.rejected).toBe(4);
    expect(Array.from(t.lookup("1")!.embedding)).toEqual(Array.from(Float32Array.from(emb(1))));
    expect(t.lookup("2")).toBeNull();
  });

  it("grows past its initial capacity and finds every row; memory stays ~150 bytes per video", () => {
    const t = new FeatureTable(1, 16);
    const rows = Array.from({ length: 20_000 }, (_, i) => row(i + 1));
    t.upsert(rows);
    expect(t.size).toBe(20_000);
    const ids = Array.from({ length: 5000 }, (_, i) => String(1 + ((i * 7919) % 20_000)));
    const { missing, video } = gather(t, ids);
    expect(missing).toEqual([]);
    expect(Array.from(video.subarray(16, 32))).toEqual(Array.from(Float32Array.from(emb(Number(ids[1]) % 1000))));
    expect(t.bytes / t.size).toBeLessThan(400); // arrays at capacity (≤ 2× rows) + index at load ≤ 1/2
  });
});
