import { describe, expect, it, vi } from "vitest";
import * as native from "../../shared/f32-base64.ts";
import {
  FEATURE_ABS_MAX, RankItemSchema, RankRequestSchema, contextFeatures, decodeColumnar, encodeColumnar, findBadFeature, parseRankRequest,
  parseRankResponse, RankResponseSchema,
} from "../../shared/rank-contract.ts";
import { createRng } from "../../gpu-inference/train/rng.ts";

type Codec = typeof native;

/** The same module with no `Buffer` global (how it runs in a browser): the portable byte codec. */
async function portableCodec(): Promise<Codec> {
  vi.stubGlobal("Buffer", undefined);
  try {
    expect((globalThis as { Buffer?: unknown }).Buffer).toBeUndefined();
    // A query string makes vitest load a fresh module instance (typed through a variable: tsc cannot resolve it).
    const spec: string = "../../shared/f32-base64.ts?portable";
    const mod = (await import(spec)) as Codec;
    expect(mod).not.toBe(native);
    return mod;
  } finally {
    vi.unstubAllGlobals();
  }
}

describe("f32-base64", async () => {
  const portable = await portableCodec();

  for (const [name, codec] of [["Buffer", native], ["portable", portable]] as const) {
    it(`${name}: round-trips every length, from aligned and unaligned views`, () => {
      const rng = createRng(1);
      for (let n = 0; n < 40; n++) {
        const a = Float32Array.from({ length: n }, () => rng.normal() * 1e3);
        expect(codec.base64ToF32(codec.f32ToBase64(a))).toEqual(a);
        const host = new Float32Array(n + 3).fill(7);
        host.set(a, 1);
        expect(codec.base64ToF32(codec.f32ToBase64(host.subarray(1, n + 1)))).toEqual(a);
      }
      // Small decodes land at odd offsets of Buffer's pool; the result must still be a usable array.
      const one = codec.base64ToF32(codec.f32ToBase64(Float32Array.of(-1.5)));
      expect(Array.from(one)).toEqual([-1.5]);
    });

    it(`${name}: is strict about the alphabet, padding and length`, () => {
      expect(codec.tryBase64ToF32("AAAA*AAA")).toBeNull();
      expect(codec.tryBase64ToF32("AAAA AAA")).toBeNull();
      expect(codec.tryBase64ToF32("AA=AAAAA")).toBeNull();
      expect(codec.tryBase64ToF32("AAAAA")).toBeNull(); // 4k+1 characters cannot be base64
      expect(Array.from(codec.tryBase64ToF32("AAAAAA==") ?? [])).toEqual([0]); // padded: 4 bytes, one float
      expect(Array.from(codec.tryBase64ToF32("AAAAAA") ?? [])).toEqual([0]); // padding is optional
    });
  }

  it("both codecs produce identical text", () => {
    const a = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i));
    expect(portable.f32ToBase64(a)).toBe(native.f32ToBase64(a));
    expect(portable.f32ToBase64(a)).toBe(Buffer.from(a.buffer).toString("base64"));
  });

  it("base64ToF32 throws on a byte count that is not a multiple of 4", () => {
    expect(() => native.base64ToF32("AAA=")).toThrow(/multiple of 4/);
    expect(() => native.base64ToF32("A***")).toThrow(/invalid/);
  });
});

describe("rank contract", () => {
  it("context features follow the documented formula", () => {
    const [v, l, f, r] = contextFeatures(999, 100, true, 7);
    expect(v).toBeCloseTo(Math.log1p(999) / 15);
    expect(l).toBeCloseTo(0.1);
    expect(f).toBe(1);
    expect(r).toBeCloseTo(Math.exp(-1));
  });

  it("columnar encode/decode round-trips and names the bad field", () => {
    const m = { ids: ["a", "b"], embeddings: new Float32Array(32).fill(0.5), ctx: new Float32Array(8).fill(0.25) };
    const dec = decodeColumnar(encodeColumnar(m));
    expect(dec.ok && dec.value.embeddings).toEqual(m.embeddings);
    const short = decodeColumnar({ ...encodeColumnar(m), ids: ["a"] });
    expect(short.ok ? null : short.field).toBe("columnar.embeddings");
  });

  it("fast row validation accepts exactly what the schema accepts", () => {
    const row = { id: "x", embedding: new Array(16).fill(0.1), ctx: [0, 0, 1, 0.5] };
    const user = { id: "u", embedding: new Array(16).fill(0) };
    expect(parseRankRequest({ user, candidates: [row], top_k: 1 }).ok).toBe(true);
    const bad = parseRankRequest({ user, candidates: [row, { ...row, embedding: [...row.embedding.slice(1), "1"] }] });
    expect(bad).toMatchObject({ ok: false, field: "candidates.1.embedding.15" });
    expect(parseRankRequest({ user, candidates: [{ ...row, id: 3.5 }] })).toMatchObject({ ok: false, field: "candidates.0.id" });
    expect(parseRankRequest({ user, candidates: [{ ...row, id: 42 }] }).ok).toBe(true);
  });
});

describe("rank contract: every model input is a finite number within ±FEATURE_ABS_MAX", () => {
  const B = FEATURE_ABS_MAX;
  const BAD = [1e38, -1e38, Number.NaN, Infinity, -Infinity, B + 1e-3, -B - 1e-3];
  const user = { id: "u", embedding: new Array(16).fill(0.1) };
  const row = (id: string) => ({ id, embedding: new Array(16).fill(0.1), ctx: [0.5, 0.1, 1, 0.5] });
  const matrix = () => ({ ids: ["a", "b", "c"], embeddings: new Float32Array(48).fill(0.25), ctx: new Float32Array(12).fill(0.5) });

  it("columnar: a bad value in either block is refused with the block as field and row/value in the message", () => {
    for (const bad of BAD) {
      const m = matrix();
      m.embeddings[1 * 16 + 5] = bad; // row 1, value 5
      const e = decodeColumnar(encodeColumnar(m));
      expect(e, String(bad)).toMatchObject({ ok: false, field: "columnar.embeddings" });
      expect(e.ok ? "" : e.message).toMatch(/^row 1, value 5 is .*finite number in \[-8, 8\]/);
      const c = matrix();
      c.ctx[2 * 4 + 3] = bad;
      const ce = decodeColumnar(encodeColumnar(c));
      expect(ce, String(bad)).toMatchObject({ ok: false, field: "columnar.ctx" });
      expect(ce.ok ? "" : ce.message).toMatch(/^row 2, value 3 /);
    }
    const edge = matrix();
    edge.embeddings.fill(B).fill(-B, 0, 8);
    expect(decodeColumnar(encodeColumnar(edge)).ok).toBe(true);
  });

  it("row form and user: fast path and schema agree, both refuse every bad value with its JSON path", () => {
    for (const bad of BAD) {
      const rows = [row("a"), row("b"), row("c")];
      rows[2].embedding[5] = bad;
      const body = { user, candidates: rows };
      expect(parseRankRequest(body), String(bad)).toMatchObject({ ok: false, field: "candidates.2.embedding.5" });
      expect(RankRequestSchema.safeParse(body).success).toBe(false);
      const ctxBody = { user, candidates: [row("a"), { ...row("b"), ctx: [0, bad, 0, 0] }] };
      expect(parseRankRequest(ctxBody), String(bad)).toMatchObject({ ok: false, field: "candidates.1.ctx.1" });
      const userBody = { user: { id: "u", embedding: user.embedding.map((x, i) => (i === 3 ? bad : x)) }, candidates: [row("a")] };
      expect(parseRankRequest(userBody), String(bad)).toMatchObject({ ok: false, field: "user.embedding.3" });
      // The user embedding is checked for the columnar form as well.
      expect(parseRankRequest({ ...userBody, candidates: undefined, columnar: encodeColumnar(matrix()) })).toMatchObject({ field: "user.embedding.3" });
    }
    // The bound itself is accepted by both paths.
    const edge = { user: { id: "u", embedding: new Array(16).fill(-B) }, candidates: [{ ...row("a"), embedding: new Array(16).fill(B), ctx: [B, -B, 0, 0] }] };
    expect(parseRankRequest(edge).ok).toBe(true);
    expect(RankRequestSchema.safeParse(edge).success).toBe(true);
  });

  it("findBadFeature reports the first bad value's row and column, null when all are fine", () => {
    expect(findBadFeature(new Float32Array(40).fill(B), 4)).toBeNull();
    const f = new Float32Array(40);
    f[26] = Number.NaN;
    f[33] = 1e38;
    expect(findBadFeature(f, 4)).toMatchObject({ row: 6, col: 2 });
    expect(findBadFeature([0, 0, 0, Infinity], 2)).toEqual({ row: 1, col: 1, value: Infinity });
  });

  it("contextFeatures gives finite in-range features for any input, corrupt counters included", () => {
    const weird = [Number.NaN, -5, 0, 1, 1e6, 1e300, Infinity, -Infinity];
    for (const views of weird) for (const likes of weird) for (const age of weird) {
      for (const v of contextFeatures(views, likes, true, age)) {
        expect(Number.isFinite(v) && v >= 0 && v <= 2.45, `${views} ${likes} ${age} → ${v}`).toBe(true);
      }
    }
    expect(contextFeatures(0, 50, false, 0)[1]).toBe(1); // more likes than views: a rate, capped at 1
    expect(contextFeatures(Number.NaN, Number.NaN, false, Number.NaN)).toEqual([0, 0, 0, 1]);
  });

  it("a response score must be a finite probability: null, NaN and out-of-range scores fail the schema", () => {
    expect(RankItemSchema.safeParse({ id: "a", score: 0.3 }).success).toBe(true);
    for (const score of [null, Number.NaN, Infinity, -0.1, 1.5, "0.5"]) {
      expect(RankItemSchema.safeParse({ id: "a", score }).success, String(score)).toBe(false);
    }
  });

  it("parseRankResponse (items checked by hand) agrees with RankResponseSchema on good and bad answers", () => {
    const ok = { model_version: "v1", items: [{ id: "12", score: 0.9 }, { id: 7, score: 0 }], batch_rows: 2, timing_ms: { queue: 0, infer: 1 }, feature_table: { version: "1.0", missing: 0 } };
    expect(parseRankResponse(ok)).toEqual(RankResponseSchema.safeParse(ok));
    const bad = [
      { ...ok, items: [{ id: "12", score: 0.9 }, { id: "13", score: Number.NaN }] },
      { ...ok, items: [{ id: "", score: 0.5 }] },
      { ...ok, items: [{ id: -1, score: 0.5 }] },
      { ...ok, items: [{ id: "1", score: 1.5 }] },
      { ...ok, items: [null] },
      { ...ok, items: "x" },
      { ...ok, model_version: 3 },
      { ...ok, batch_rows: 1.5 },
      null,
    ];
    for (const b of bad) {
      const fast = parseRankResponse(b);
      const full = RankResponseSchema.safeParse(b);
      expect(fast.success, JSON.stringify(b)).toBe(false);
      expect(fast.error?.issues[0].path).toEqual(full.error?.issues[0].path);
    }
  });
});
