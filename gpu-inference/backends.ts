// Inference backends behind one small interface. The same ONNX bytes run on
//   cpu  — onnxruntime-node, CPU execution provider (default)
//   cuda — onnxruntime-node, CUDA execution provider; if it cannot load we fail loudly at startup rather
//          than silently serving from CPU at a fraction of the expected throughput
//   wasm — onnxruntime-web (WebAssembly) in Node: the same engine the browser/edge would use
// onnxruntime-web is imported lazily so CPU deployments never load the wasm runtime.
import { createRequire } from "node:module";
import path from "node:path";
import * as ortNode from "onnxruntime-node";
import { exportOnnx } from "./model/onnx-export.ts";
import { zeroParams } from "./model/network.ts";
import { CTX_DIM, EMBEDDING_DIM, FEATURE_ABS_MAX } from "../shared/rank-contract.ts";
import type { BackendKind } from "./config.ts";

export type { BackendKind };

export interface ScoreInput {
  user: Float32Array; // rows * 16
  video: Float32Array; // rows * 16
  ctx: Float32Array; // rows * 4
  rows: number;
}

export interface Scorer {
  readonly backend: BackendKind;
  run(input: ScoreInput): Promise<Float32Array>; // rows scores
  release(): Promise<void>;
}

export interface BackendOptions {
  backend: BackendKind;
  intraOpThreads?: number; // 0/undefined = runtime default
  cudaDeviceId?: number;
}

export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

type OrtModule = typeof ortNode;
let ortWeb: Promise<OrtModule> | null = null;

function loadOrtWeb(threads: number): Promise<OrtModule> {
  ortWeb ??= (async () => {
    const ort = (await import("onnxruntime-web")) as unknown as OrtModule & { env: { wasm: Record<string, unknown> } };
    // Resolve the package's dist/ folder from here, not from cwd, so any working directory works.
    const entry = createRequire(import.meta.url).resolve("onnxruntime-web");
    ort.env.wasm.wasmPaths = path.dirname(entry) + path.sep;
    // Threads in Node mean worker_threads that can keep a process alive; one thread unless asked.
    ort.env.wasm.numThreads = Math.max(1, threads);
    ort.env.wasm.proxy = false;
    return ort;
  })();
  return ortWeb;
}

export async function createScorer(model: Uint8Array, o: BackendOptions): Promise<Scorer> {
  const threads = o.intraOpThreads ?? 0;
  let ort: OrtModule;
  let session: ortNode.InferenceSession;
  try {
    if (o.backend === "wasm") {
      ort = await loadOrtWeb(threads);
      session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    } else {
      ort = ortNode;
      const ep = o.backend === "cuda" ? [{ name: "cuda", deviceId: o.cudaDeviceId ?? 0 } as const] : ["cpu"];
      session = await ort.InferenceSession.create(model, {
        executionProviders: ep,
        graphOptimizationLevel: "all",
        ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
      });
    }
  } catch (e) {
    if (o.backend === "cuda") {
      throw new BackendUnavailableError(
        `RANK_BACKEND=cuda but the CUDA execution provider could not be initialised (${(e as Error).message.split("\n")[0]}). ` +
          "The CUDA provider ships separately: install with ONNXRUNTIME_NODE_INSTALL=cuda12 (npm ci) on a host with " +
          "CUDA 12 + cuDNN 9 and a visible GPU (see gpu-inference/Dockerfile), or set RANK_BACKEND=cpu.",
      );
    }
    throw e;
  }
  const Tensor = ort.Tensor;
  return {
    backend: o.backend,
    async run({ user, video, ctx, rows }) {
      const out = await session.run({
        user: new Tensor("float32", user, [rows, EMBEDDING_DIM]),
        video: new Tensor("float32", video, [rows, EMBEDDING_DIM]),
        ctx: new Tensor("float32", ctx, [rows, CTX_DIM]),
      });
      return out.score.data as Float32Array;
    },
    release: () => session.release(),
  };
}

/**
 * Proves the configured backend works before the service reports anything, using a throwaway model of
 * the production architecture (zero weights). This is where a missing CUDA provider surfaces.
 */
export async function probeBackend(o: BackendOptions): Promise<void> {
  const s = await createScorer(exportOnnx(zeroParams()), o);
  try {
    const r = await s.run({ user: new Float32Array(EMBEDDING_DIM), video: new Float32Array(EMBEDDING_DIM), ctx: new Float32Array(CTX_DIM), rows: 1 });
    if (Math.abs(r[0] - 0.5) > 1e-6) throw new BackendUnavailableError(`backend ${o.backend} probe returned ${r[0]}, expected 0.5`);
  } finally {
    await s.release();
  }
}

/**
 * Edge-of-range inputs for assertFiniteOutputs: zeros, every input at ±FEATURE_ABS_MAX, user and video
 * at opposite signs, alternating signs. For a ReLU network the largest activations are reached at corners
 * of the input box, so these are where an overflow would show.
 */
function extremeInputs(): ScoreInput {
  const B = FEATURE_ABS_MAX;
  const patterns: Array<(block: "user" | "video" | "ctx", i: number) => number> = [
    () => 0,
    () => B,
    () => -B,
    (b) => (b === "video" ? -B : B),
    (b) => (b === "user" ? -B : B),
    (_, i) => (i % 2 ? B : -B),
    (_, i) => (i % 2 ? -B : B),
    (b, i) => (b === "ctx" ? B : i % 3 ? B : -B),
  ];
  const rows = patterns.length;
  const fill = (block: "user" | "video" | "ctx", dim: number) => {
    const a = new Float32Array(rows * dim);
    patterns.forEach((f, r) => {
      for (let i = 0; i < dim; i++) a[r * dim + i] = f(block, i);
    });
    return a;
  };
  return { user: fill("user", EMBEDDING_DIM), video: fill("video", EMBEDDING_DIM), ctx: fill("ctx", CTX_DIM), rows };
}

/**
 * Refuses a model that returns a non-finite or out-of-[0, 1] score at the edges of the accepted input
 * range (a diverged training run, or weights large enough to overflow float32). The model holder calls it
 * before a version goes live, so such a model is never served. Throws Error naming the row and value.
 */
export async function assertFiniteOutputs(s: Scorer): Promise<void> {
  const input = extremeInputs();
  const out = await s.run(input);
  for (let r = 0; r < input.rows; r++) {
    if (!(out[r] >= 0 && out[r] <= 1)) {
      throw new Error(`model returned score ${out[r]} for probe row ${r} (inputs at ±${FEATURE_ABS_MAX}); refusing to serve it`);
    }
  }
}
