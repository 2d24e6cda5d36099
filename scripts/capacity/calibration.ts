// Measured inputs of the capacity model: the ranking service's per-call costs (scripts/capacity/calibrate.ts,
// the relevant part of bench/rank.bench.ts) and the Zipf replay's hit rates (bench/zipf-replay.ts via
// `npm run bench`). The latest local measurement (artifacts/capacity/calibration.json, not committed) wins
// over the committed copy (scripts/capacity/calibration.json), so a fresh `calibrate` run feeds the next
// `npm run simulate` on the same machine.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ROOT } from "./config.ts";

export const COMMITTED_CALIBRATION = path.join(ROOT, "scripts/capacity/calibration.json");
export const LATEST_CALIBRATION = path.join(ROOT, "artifacts/capacity/calibration.json");

const ms = z.number().min(0);
const rate = z.number().min(0).max(1);
const HitCount = z.object({ hits: z.number().int().min(0), lookups: z.number().int().positive() });

export const CalibrationSchema = z.object({
  measuredAt: z.string(),
  host: z.object({ cpus: z.number().int().positive(), cpuModel: z.string(), loadAverage1m: z.number().min(0), backend: z.string() }),
  candidatesPerCall: z.number().int().positive(),
  topK: z.number().int().positive(),
  batching: z.object({ maxBatchRows: z.number().int().positive(), maxWaitMs: ms }),
  /** Per sequential HTTP call: round trip − batch queue − inference (wall clock, ms). For reference. */
  eventLoopMs: z.array(ms).min(20),
  /** Per call, in-process on the thread CPU clock: the request side of the handler (parse, validate, decode), ms. */
  requestCpuMs: z.array(ms).min(20),
  /** Mean CPU of the response side (top-k + JSON), ms. */
  respondMs: ms,
  /** session.run time of one batch ≈ aMs + bMsPerRow · rows, fitted to the 10th percentile `ms` at each size. */
  inference: z.object({ aMs: ms, bMsPerRow: ms, points: z.array(z.object({ rows: z.number().int().positive(), ms })).min(2) }),
  /** Process CPU time per call (user + system, all threads incl. CPU inference), ms: the HPA's CPU metric. */
  cpuMsPerRequest: ms,
  /**
   * CPU time of the service's main thread (the event loop) per HTTP call, ms: the pod's service demand.
   * Unlike wall time it does not grow when the machine is shared; the model scales requestCpuMs +
   * respondMs (which leave out HTTP body handling) up to this mean, keeping the samples' spread.
   */
  mainThreadCpuMsPerRequest: ms,
  sequential: z.object({ requests: z.number().int().positive(), p50Ms: ms, p99Ms: ms }),
  saturation: z.object({ concurrency: z.number().int().positive(), rps: z.number().positive(), p50Ms: ms, p99Ms: ms, meanBatchRows: ms, cpuMsPerRequest: ms }),
  zipf: z.object({
    source: z.string(),
    edge: HitCount,
    app: HitCount,
    feature: HitCount,
    /** The replay's request mix (bench/zipf-replay.ts): feed share, anonymous share of feed, cursor continuation. */
    mix: z.object({ feedShare: rate, anonymousShare: rate, continueChain: rate }),
  }),
});
export type Calibration = z.infer<typeof CalibrationSchema>;

/** The calibration in force and where it came from: the latest local run if present, else the committed one. */
export function loadCalibration(file?: string): { calibration: Calibration; file: string } {
  const chosen = file ?? (existsSync(LATEST_CALIBRATION) ? LATEST_CALIBRATION : COMMITTED_CALIBRATION);
  return { calibration: CalibrationSchema.parse(JSON.parse(readFileSync(chosen, "utf8"))), file: path.relative(ROOT, chosen) };
}

/** Hit rate of a counted tier (hits / lookups). */
export const hitRate = (c: { hits: number; lookups: number }): number => c.hits / c.lookups;
