import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendUnavailableError, createScorer, probeBackend, type Scorer } from "../../gpu-inference/backends.ts";
import { exportOnnx } from "../../gpu-inference/model/onnx-export.ts";
import { initParams, predict, type NetParams } from "../../gpu-inference/model/network.ts";
import { createRng } from "../../gpu-inference/train/rng.ts";

// The same ONNX bytes on onnxruntime-node (CPU) and onnxruntime-web (wasm) must rank identically: the
// service can switch RANK_BACKEND without retraining or re-validating the model.
describe("inference backends", () => {
  let params: NetParams;
  let cpu: Scorer;
  let wasm: Scorer;

  beforeAll(async () => {
    params = initParams(createRng(21));
    const bytes = exportOnnx(params);
    cpu = await createScorer(bytes, { backend: "cpu", intraOpThreads: 1 });
    wasm = await createScorer(bytes, { backend: "wasm" });
  });
  afterAll(async () => {
    await cpu?.release();
    await wasm?.release();
  });

  it("wasm and native agree within 1e-4 on random inputs, and both match the TS reference", async () => {
    const rng = createRng(5);
    for (const rows of [1, 3, 64, 5000]) {
      const input = {
        rows,
        user: Float32Array.from({ length: rows * 16 }, () => rng.normal()),
        video: Float32Array.from({ length: rows * 16 }, () => rng.normal()),
        ctx: Float32Array.from({ length: rows * 4 }, () => rng.next()),
      };
      const a = await cpu.run(input);
      const b = await wasm.run(input);
      const ref = predict(params, input.user, input.video, input.ctx, rows);
      expect(a.length).toBe(rows);
      expect(b.length).toBe(rows);
      let maxNativeWasm = 0;
      let maxRef = 0;
      for (let i = 0; i < rows; i++) {
        maxNativeWasm = Math.max(maxNativeWasm, Math.abs(a[i] - b[i]));
        maxRef = Math.max(maxRef, Math.abs(a[i] - ref[i]));
      }
      expect(maxNativeWasm).toBeLessThan(1e-4);
      expect(maxRef).toBeLessThan(1e-5);
    }
  });

  it("probes cpu and wasm successfully", async () => {
    await expect(probeBackend({ backend: "cpu" })).resolves.toBeUndefined();
    await expect(probeBackend({ backend: "wasm" })).resolves.toBeUndefined();
  });

  it("cuda either works or fails at startup with a clear error (never a silent CPU fallback)", async () => {
    try {
      await probeBackend({ backend: "cuda" });
    } catch (e) {
      expect(e).toBeInstanceOf(BackendUnavailableError);
      expect((e as Error).message).toMatch(/RANK_BACKEND=cuda .*CUDA execution provider could not be initialised.*RANK_BACKEND=cpu/);
    }
  });
});
