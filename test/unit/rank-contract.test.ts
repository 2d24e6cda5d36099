import { describe, expect, it, vi } from "vitest";
import * as native from "../../shared/f32-base64.ts";
import { contextFeatures, decodeColumnar, encodeColumnar, parseRankRequest } from "../../shared/rank-contract.ts";
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
