// Latency of one ranking pod as a function of its arrival rate, from a discrete-event model of the service
// as gpu-inference/ builds it, calibrated by scripts/capacity/calibrate.ts:
//   request → [event loop: receive + parse + decode, sampled from the measured per-call cost]
//           → MicroBatcher (gpu-inference/batcher.ts rules: whole calls up to maxBatchRows, dispatch when
//             full or maxWaitMs after the first waiting call, one batch at a time, the next right after;
//             admission bound maxQueueRows → 503)
//           → inference a + b·rows (off the event loop) → [event loop: top-k + JSON, measured] → response.
// Poisson arrivals. The event loop is one FIFO server (Node runs the handler's JavaScript on one thread).
// The result per utilisation level is a latency histogram of answered calls (what the service's
// fyp_latency_p99_ms window sees: 200s only) and the fraction shed; buildLatencyTable tabulates it once.
import type { Calibration } from "./calibration.ts";
import type { RankingDeployment } from "./config.ts";
import { emptyHistogram, binOf, normalised } from "./histogram.ts";

export interface PodModel {
  /** Event-loop cost of the request side of one call (ms), one entry per measured call. */
  requestSideMs: number[];
  /** Event-loop cost of the response side (ms). */
  respondMs: number;
  /** Batch inference time = inferAMs + inferBMsPerRow · rows. */
  inferAMs: number;
  inferBMsPerRow: number;
  rowsPerCall: number;
  maxBatchRows: number;
  maxWaitMs: number;
  maxQueueRows: number;
  /** CPU per call (ms) of a GPU pod, for the HPA's CPU metric. */
  cpuMsPerCall: number;
}

/**
 * Builds the pod model from a calibration and the Deployment's batching settings. Per-call event-loop
 * costs are the in-process CPU samples of the handler plus, as a constant, the rest of the service's
 * measured main-thread CPU per HTTP call (reading the ~0.5 MB body, routing, writing the response), so
 * the mean is that measured per-call CPU. CPU clocks: a shared machine's waiting for a core does not
 * count, as it would not on a pod with its own cores.
 */
export function podModel(cal: Calibration, dep: RankingDeployment, rowsPerCall: number): PodModel {
  const inProcess = cal.requestCpuMs.reduce((s, x) => s + x, 0) / cal.requestCpuMs.length + cal.respondMs;
  const http = Math.max(0, cal.mainThreadCpuMsPerRequest - inProcess);
  return {
    requestSideMs: cal.requestCpuMs.map((x) => x + http),
    respondMs: cal.respondMs,
    inferAMs: cal.inference.aMs,
    inferBMsPerRow: cal.inference.bMsPerRow,
    rowsPerCall,
    maxBatchRows: dep.maxBatchRows,
    maxWaitMs: dep.maxWaitMs,
    maxQueueRows: dep.maxQueueRows,
    // A GPU pod runs inference on the GPU: its CPU is the event loop's. (The calibration's process CPU
    // also counts the CPU backend's inference threads, which a CUDA pod does not spend.)
    cpuMsPerCall: cal.mainThreadCpuMsPerRequest,
  };
}

/** Calls per second one pod can answer at saturation: the lower of the event loop's and the batch engine's. */
export function podCapacity(m: PodModel): number {
  const loopMs = m.requestSideMs.reduce((s, x) => s + x, 0) / m.requestSideMs.length + m.respondMs;
  const perBatch = Math.max(1, Math.floor(m.maxBatchRows / m.rowsPerCall));
  const batchMs = m.inferAMs + m.inferBMsPerRow * perBatch * m.rowsPerCall;
  return Math.min(1000 / loopMs, batchMs > 0 ? (1000 * perBatch) / batchMs : Infinity);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ARRIVAL = 0;
const LOOP_DONE = 1;
const TIMER = 2;
const INFER_DONE = 3;

/** Min-heap of (time, kind, payload) events. */
class Events {
  private t: number[] = [];
  private k: number[] = [];
  private p: number[] = [];
  get size(): number {
    return this.t.length;
  }
  push(time: number, kind: number, payload: number): void {
    const { t, k, p } = this;
    let i = t.length;
    t.push(time), k.push(kind), p.push(payload);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (t[up] <= t[i]) break;
      [t[up], t[i]] = [t[i], t[up]];
      [k[up], k[i]] = [k[i], k[up]];
      [p[up], p[i]] = [p[i], p[up]];
      i = up;
    }
  }
  pop(): [number, number, number] {
    const { t, k, p } = this;
    const top: [number, number, number] = [t[0], k[0], p[0]];
    const lt = t.pop()!, lk = k.pop()!, lp = p.pop()!;
    if (t.length > 0) {
      t[0] = lt, k[0] = lk, p[0] = lp;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < t.length && t[l] < t[m]) m = l;
        if (r < t.length && t[r] < t[m]) m = r;
        if (m === i) break;
        [t[m], t[i]] = [t[i], t[m]];
        [k[m], k[i]] = [k[i], k[m]];
        [p[m], p[i]] = [p[i], p[m]];
        i = m;
      }
    }
    return top;
  }
}

export interface PodRun {
  /** Latency histogram of answered calls (normalised). */
  hist: Float64Array;
  /** Fraction of calls refused with 503 (admission bound). */
  shed: number;
  meanBatchCalls: number;
  /** Fraction of time the event loop was busy. */
  loopBusy: number;
}

/** Simulates one pod at `callsPerS` Poisson arrivals for `calls` measured calls (after `warmup`). */
export function simulatePod(m: PodModel, callsPerS: number, o: { calls?: number; warmup?: number; seed?: number } = {}): PodRun {
  const calls = o.calls ?? 20_000;
  const warmup = o.warmup ?? 2_000;
  const n = calls + warmup;
  const rand = mulberry32(o.seed ?? 7);
  const lambda = callsPerS / 1000; // per ms
  const arrive = new Float64Array(n);
  const hist = emptyHistogram();
  const ev = new Events();
  const loopQ: number[] = []; // job = call * 2 + side (0 request, 1 response)
  let loopHead = 0;
  let loopBusy = false;
  let busyMs = 0;
  const batchQ: number[] = [];
  let batchHead = 0;
  let outstanding = 0;
  let running: number[] | null = null;
  let timerToken = -1;
  let tokens = 0;
  let shed = 0;
  let answered = 0;
  let batches = 0;
  let batchCalls = 0;
  let now = 0;
  let arrived = 0;
  let firstMeasuredAt = -1;

  const startLoop = () => {
    if (loopBusy || loopHead >= loopQ.length) return;
    const job = loopQ[loopHead++];
    const cost = job & 1 ? m.respondMs : m.requestSideMs[Math.floor(rand() * m.requestSideMs.length)];
    loopBusy = true;
    if (firstMeasuredAt >= 0) busyMs += cost;
    ev.push(now + cost, LOOP_DONE, job);
  };
  const dispatch = () => {
    if (running || batchHead >= batchQ.length) return;
    timerToken = -1;
    const parts: number[] = [];
    let filled = 0;
    while (batchHead < batchQ.length && filled < m.maxBatchRows) {
      if (m.rowsPerCall > m.maxBatchRows - filled && filled > 0) break;
      parts.push(batchQ[batchHead++]);
      filled += m.rowsPerCall;
    }
    running = parts;
    batches++;
    batchCalls += parts.length;
    ev.push(now + m.inferAMs + m.inferBMsPerRow * filled, INFER_DONE, 0);
  };
  const schedule = () => {
    if (running || batchHead >= batchQ.length) return;
    if ((batchQ.length - batchHead) * m.rowsPerCall >= m.maxBatchRows) return dispatch();
    if (timerToken < 0) {
      timerToken = ++tokens;
      ev.push(now + Math.max(m.maxWaitMs, 0.001), TIMER, timerToken);
    }
  };

  ev.push(-Math.log(1 - rand()) / lambda, ARRIVAL, 0);
  while (ev.size > 0) {
    const [t, kind, payload] = ev.pop();
    now = t;
    if (kind === ARRIVAL) {
      const id = arrived++;
      arrive[id] = now;
      if (id === warmup) firstMeasuredAt = now;
      loopQ.push(id * 2);
      startLoop();
      if (arrived < n) ev.push(now - Math.log(1 - rand()) / lambda, ARRIVAL, 0);
    } else if (kind === LOOP_DONE) {
      loopBusy = false;
      const id = payload >> 1;
      if (payload & 1) {
        if (id >= warmup) {
          hist[binOf(now - arrive[id])] += 1;
          answered++;
        }
      } else if (outstanding > 0 && outstanding + m.rowsPerCall > m.maxQueueRows) {
        if (id >= warmup) shed++;
      } else {
        outstanding += m.rowsPerCall;
        batchQ.push(id);
        schedule();
      }
      startLoop();
    } else if (kind === TIMER) {
      if (payload === timerToken) dispatch();
    } else {
      for (const id of running!) {
        outstanding -= m.rowsPerCall;
        loopQ.push(id * 2 + 1);
      }
      running = null;
      if (batchHead < batchQ.length) dispatch();
      startLoop();
    }
  }
  const span = Math.max(1e-9, now - Math.max(0, firstMeasuredAt));
  return { hist: normalised(hist), shed: shed / Math.max(1, shed + answered), meanBatchCalls: batchCalls / Math.max(1, batches), loopBusy: Math.min(1, busyMs / span) };
}

export interface LatencyTable {
  /** Saturation rate of one pod (calls/s). */
  capacity: number;
  /** Utilisation levels (arrival rate / capacity), ascending, from 0. */
  rho: number[];
  hist: Float64Array[];
  shed: number[];
}

/** Tabulates the pod's latency distribution for utilisation 0 … rhoMax in `step` increments. */
export function buildLatencyTable(m: PodModel, o: { step?: number; rhoMax?: number; calls?: number } = {}): LatencyTable {
  const capacity = podCapacity(m);
  const step = o.step ?? 0.025;
  const rhoMax = o.rhoMax ?? 0.975;
  const rho: number[] = [];
  const hist: Float64Array[] = [];
  const shed: number[] = [];
  for (let i = 0; Math.round(i * step * 1e6) / 1e6 <= rhoMax + 1e-9; i++) {
    const r = Math.round(i * step * 1e6) / 1e6;
    // At ρ = 0 a call meets an idle pod: simulate a trickle (0.1% of capacity) for that row.
    const run = simulatePod(m, Math.max(r, 0.001) * capacity, { calls: o.calls, seed: 11 + i });
    rho.push(r), hist.push(run.hist), shed.push(run.shed);
  }
  return { capacity, rho, hist, shed };
}

/** Interpolated latency distribution and shed fraction at utilisation ρ (clamped to the table). */
export function lookupLatency(t: LatencyTable, rho: number): { hist: Float64Array; shed: number } {
  const last = t.rho.length - 1;
  if (rho <= 0) return { hist: t.hist[0], shed: t.shed[0] };
  if (rho >= t.rho[last]) return { hist: t.hist[last], shed: t.shed[last] };
  let i = Math.floor((rho / t.rho[last]) * last);
  while (i < last && t.rho[i + 1] < rho) i++;
  while (i > 0 && t.rho[i] > rho) i--;
  const w = (rho - t.rho[i]) / (t.rho[i + 1] - t.rho[i]);
  const out = new Float64Array(t.hist[i].length);
  for (let b = 0; b < out.length; b++) out[b] = t.hist[i][b] * (1 - w) + t.hist[i + 1][b] * w;
  return { hist: out, shed: t.shed[i] * (1 - w) + t.shed[i + 1] * w };
}
