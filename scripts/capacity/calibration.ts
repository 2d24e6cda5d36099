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
  /** Per sequential call: time on the service's event loop (round trip − batch queue − inference), ms. */
  eventLoopMs: z.array(ms).min(20),
  /** In-process cost of the response side (top-k + JSON), ms; the rest of eventLoopMs is the request side. */
  respondMs: ms,
  /** session.run time of one batch ≈ aMs + bMsPerRow · rows. */
  inference: z.object({ aMs: ms, bMsPerRow: ms, points: z.array(z.object({ rows: z.number().int().positive(), p50Ms: ms })).min(2) }),
  /** Process CPU time per call (user + system), ms: the HPA's CPU metric. */
  cpuMsPerRequest: ms,
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
