// The ranking service of one region, second by second: calls spread evenly over the ready pods (the
// Service load-balances), each pod's latency from the calibrated latency table, overload as a fluid
// backlog on the event loop (calls wait backlog / capacity), the origin's reaction, and what the pods'
// metrics read.
//   Origin side (shared/config.ts): a call slower than RETRY.mlInference.perTryTimeoutMs is abandoned
//   and, like a 503, retried once (retries = 1), the retry arriving in the next second; the ranking
//   breaker (RANKING_BREAKER) opens when ≥ failureRateThreshold% of calls fail or ≥ slowCallRateThreshold%
//   are slower than slowCallDurationMs; while open (waitInOpenMs) no call is made (fallbacks serve the
//   feed), then calls resume. Every origin isolate sees the same distribution, so the region's breakers
//   are modelled as one.
//   Pod metrics: fyp_latency_p99_ms = p99 of the pod's answered calls of the last 60 s (0 when none,
//   gpu-inference/service-metrics.ts); CPU = the event loop's CPU per call × calls answered, over the
//   last 15 s (metrics-server resolution). Both as of `metricsLagS` ago (scrape + adapter).
// Latency mass is kept per 15 s block (the HPA sync period), so a 60 s window or a minute is 4 blocks.
import { addInto, addShiftedInto, BINS, fractionAbove, quantile } from "./histogram.ts";
import { lookupLatency, type LatencyTable } from "./latency-model.ts";

export interface OriginPolicy {
  timeoutMs: number;
  retries: number;
  failureRatePct: number;
  slowCallRatePct: number;
  slowCallMs: number;
  openS: number;
}

export interface SecondResult {
  /** Calls offered to the pods this second (incl. retries; 0 while the breaker is open). */
  offered: number;
  answered: number;
  /** Fraction of offered calls that failed for the caller (timeout or 503). */
  failFraction: number;
  breakerOpen: boolean;
}

export const BLOCK_S = 15;
const LEVELS = 800;

interface Level {
  hist: Float64Array;
  shed: number;
  timedOut: number;
  slow: number;
}

export class RankingRegion {
  private readonly table: LatencyTable;
  private readonly policy: OriginPolicy;
  private readonly cpuPctPerCallPerS: number;
  private readonly lagBlocks: number;
  private readonly levels: Level[] = [];
  private readonly rhoMax: number;
  private backlog = 0; // calls queued on the event loops beyond steady state, region total
  private retryNext = 0;
  private openUntil = -Infinity;
  private blocks: Float64Array[];
  private cpuBlocks: Float64Array;

  constructor(table: LatencyTable, policy: OriginPolicy, cpuMsPerCall: number, cpuRequestCores: number, metricsLagS: number) {
    this.table = table;
    this.policy = policy;
    this.cpuPctPerCallPerS = (100 * cpuMsPerCall) / 1000 / cpuRequestCores;
    this.lagBlocks = Math.ceil(metricsLagS / BLOCK_S);
    this.rhoMax = table.rho[table.rho.length - 1];
    for (let i = 0; i <= LEVELS; i++) {
      const { hist, shed } = lookupLatency(table, (i / LEVELS) * this.rhoMax);
      this.levels.push({ hist, shed, timedOut: fractionAbove(hist, policy.timeoutMs), slow: fractionAbove(hist, policy.slowCallMs) });
    }
    const n = 4 + this.lagBlocks + 4 + 1;
    this.blocks = Array.from({ length: n }, () => new Float64Array(BINS));
    this.cpuBlocks = new Float64Array(n);
  }

  get capacityPerPod(): number {
    return this.table.capacity;
  }

  private slot(block: number): number {
    const n = this.blocks.length;
    return ((block % n) + n) % n;
  }

  /** One second at time t (integer s) with `calls` first-attempt calls and `ready` ready pods. */
  step(t: number, calls: number, ready: number): SecondResult {
    const block = Math.floor(t / BLOCK_S);
    const slot = this.slot(block);
    if (t % BLOCK_S === 0) {
      this.blocks[slot].fill(0);
      this.cpuBlocks[slot] = 0;
    }
    const open = t < this.openUntil;
    const offered = open ? 0 : calls + this.retryNext;
    this.retryNext = 0;
    const cap = this.table.capacity;
    if (open || offered <= 0 || ready <= 0) {
      this.backlog = Math.max(0, this.backlog - cap * ready);
      const fail = !open && offered > 0; // no pod to take the calls: all refused
      if (fail) this.openUntil = t + this.policy.openS;
      return { offered, answered: 0, failFraction: fail ? 1 : 0, breakerOpen: open };
    }
    const perPod = offered / ready;
    if (perPod > cap) this.backlog += (perPod - cap) * ready;
    else this.backlog = Math.max(0, this.backlog - (cap - perPod) * ready);
    const waitMs = (1000 * this.backlog) / ready / cap;
    const lv = this.levels[Math.min(LEVELS, Math.round((Math.min(perPod / cap, this.rhoMax) / this.rhoMax) * LEVELS))];
    const answered = offered * (1 - lv.shed);
    let timedOut = lv.timedOut;
    let slow = lv.slow;
    if (waitMs > 0) {
      addShiftedInto(this.blocks[slot], lv.hist, waitMs, answered);
      timedOut = fractionAbove(lv.hist, Math.max(0.01, this.policy.timeoutMs - waitMs));
      slow = fractionAbove(lv.hist, Math.max(0.01, this.policy.slowCallMs - waitMs));
    } else addInto(this.blocks[slot], lv.hist, answered);
    const failFraction = lv.shed + (1 - lv.shed) * timedOut;
    // Only first attempts are retried (retries = 1): a retry that fails is final.
    this.retryNext = this.policy.retries > 0 ? calls * failFraction : 0;
    if (failFraction * 100 >= this.policy.failureRatePct || slow * 100 >= this.policy.slowCallRatePct) this.openUntil = t + this.policy.openS;
    this.cpuBlocks[slot] += Math.min(perPod, cap) * this.cpuPctPerCallPerS;
    return { offered, answered, failFraction, breakerOpen: false };
  }

  /** What the HPA reads at sync time t (a multiple of 15 s): the pods' p99 gauge and CPU %, lagged. */
  metricsAt(t: number): { p99Ms: number; cpuPct: number } {
    const last = Math.floor(t / BLOCK_S) - 1 - this.lagBlocks; // last complete block the pipeline has
    const acc = new Float64Array(BINS);
    for (let b = last - 3; b <= last; b++) addInto(acc, this.blocks[this.slot(b)]);
    return { p99Ms: quantile(acc, 0.99), cpuPct: this.cpuBlocks[this.slot(last)] / BLOCK_S };
  }

  /** Latency mass of the minute that started at t0 (a multiple of 60 s), read once it is complete. */
  minuteHist(t0: number): Float64Array {
    const acc = new Float64Array(BINS);
    const first = Math.floor(t0 / BLOCK_S);
    for (let b = first; b < first + 4; b++) addInto(acc, this.blocks[this.slot(b)]);
    return acc;
  }
}
