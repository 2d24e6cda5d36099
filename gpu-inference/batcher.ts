// Dynamic micro-batching: concurrent rank requests are concatenated into one session.run of up to
// maxBatchRows rows, dispatched when the batch is full or maxWaitMs after its first request arrived (0, the
// default: in the same event-loop turn), and split back per request. One batch runs at a time: while it
// runs, the next one fills up, which is what makes batching effective under load without adding latency
// when idle.
//
// Admission is bounded by maxQueueRows (rows admitted and not yet answered); beyond that submit() throws
// OverloadError so the caller can shed load (503 + retry-after) instead of queueing without bound.
// Requests larger than maxBatchRows are split over consecutive batches; smaller ones are never split.
//
// Isolation: one request must never spoil the batch it shares. submit() checks a job's shape and that every
// input is a feature value (finite, |x| ≤ FEATURE_ABS_MAX, shared/rank-contract.ts) and rejects a bad one
// with InvalidJobError (→ 400 naming the field) before it is queued, so only that request fails; a wrong
// length would otherwise shift every later row of the batch. On the way out each request's scores are
// sanitised: a non-finite score (a model fault, since inputs are in range) becomes 0 — the lowest
// engagement probability, so it ranks last instead of first and reaches JSON as a number, never null — and
// is counted (JobResult.nonFiniteScores, onNonFinite → fyp_rank_nonfinite_scores_total).
import { CTX_DIM, EMBEDDING_DIM, describeBadFeature, findBadFeature } from "../shared/rank-contract.ts";

export interface RankJob {
  user: Float32Array; // 16: one user, broadcast to every candidate row
  video: Float32Array; // rows * 16
  ctx: Float32Array; // rows * 4
  rows: number;
  /**
   * The values were built by the service itself from checked data (the feature table's rows are checked
   * at upsert, its context formulas are bounded: gpu-inference/feature-table.ts), so submit() checks the
   * shapes only and skips the per-value range scan (~0.1 ms per 5,000 rows). Never set for values that
   * came over the wire.
   */
  checked?: boolean;
}

export interface JobResult {
  scores: Float32Array;
  modelVersion: string;
  batchRows: number; // rows of the (largest) session.run this request rode in
  queueMs: number; // enqueue → first dispatch
  inferMs: number; // time inside session.run (summed over parts)
  nonFiniteScores: number; // scores the model returned as NaN/±Infinity, replaced by 0
}

export interface BatchInput {
  user: Float32Array;
  video: Float32Array;
  ctx: Float32Array;
  rows: number;
}

/** Runs one batch; returns scores and the model version that produced them. */
export type BatchRunner = (batch: BatchInput) => Promise<{ scores: Float32Array; modelVersion: string }>;

export interface BatcherOptions {
  maxBatchRows: number;
  maxWaitMs: number;
  maxQueueRows: number;
  run: BatchRunner;
  onBatch?: (rows: number, ms: number) => void;
  /** Called with the number of non-finite scores a batch produced (only when > 0). */
  onNonFinite?: (count: number) => void;
}

export class OverloadError extends Error {
  override name = "OverloadError";
}
export class ShuttingDownError extends Error {
  override name = "ShuttingDownError";
}
/** The job itself is malformed or out of range: the caller answers 400 with `field`. */
export class InvalidJobError extends Error {
  override name = "InvalidJobError";
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/**
 * Shape and range check of one job (user 16, video rows×16, ctx rows×4, every value a feature value).
 * Returns the error to reject with, or null. One pass over the values.
 */
export function checkJob(job: RankJob): InvalidJobError | null {
  if (!Number.isSafeInteger(job.rows) || job.rows < 0) return new InvalidJobError("candidates", `rows must be a non-negative integer, got ${job.rows}`);
  if (job.checked) {
    if (job.user.length !== EMBEDDING_DIM || job.video.length !== job.rows * EMBEDDING_DIM || job.ctx.length !== job.rows * CTX_DIM) {
      return new InvalidJobError("candidates", "block sizes do not match rows");
    }
    return null;
  }
  const blocks = [
    ["user.embedding", job.user, EMBEDDING_DIM, EMBEDDING_DIM],
    ["candidates.embedding", job.video, job.rows * EMBEDDING_DIM, EMBEDDING_DIM],
    ["candidates.ctx", job.ctx, job.rows * CTX_DIM, CTX_DIM],
  ] as const;
  for (const [field, block, len, dim] of blocks) {
    if (block.length !== len) return new InvalidJobError(field, `expected ${len} values, got ${block.length}`);
    const bad = findBadFeature(block, dim);
    if (bad) return new InvalidJobError(field, describeBadFeature(bad));
  }
  return null;
}

/** Replaces non-finite scores with 0 in place; returns how many there were. */
export function sanitiseScores(scores: Float32Array): number {
  let bad = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      scores[i] = 0;
      bad++;
    }
  }
  return bad;
}

/** Writes `row` (one user embedding) into rows [at, at + n) of `out` by doubling copies: log2(n) calls, not n. */
function broadcastRow(out: Float32Array, row: Float32Array, at: number, n: number): void {
  if (n <= 0) return;
  const start = at * EMBEDDING_DIM;
  const end = (at + n) * EMBEDDING_DIM;
  out.set(row, start);
  for (let filled = EMBEDDING_DIM; start + filled < end; filled *= 2) {
    out.copyWithin(start + filled, start, Math.min(start + filled, end - filled));
  }
}

interface Pending {
  job: RankJob;
  scores: Float32Array;
  offset: number; // rows already dispatched
  done: number; // rows scored
  enqueuedAt: number;
  queueMs: number;
  inferMs: number;
  batchRows: number;
  nonFinite: number;
  settled: boolean; // resolved or rejected: later outcomes of its other parts are ignored
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

interface Part {
  p: Pending;
  from: number;
  rows: number;
}

export class MicroBatcher {
  private readonly o: BatcherOptions;
  private queue: Pending[] = [];
  private queued = 0; // rows not yet dispatched
  private outstanding = 0; // rows admitted, not yet answered
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private drainWaiters: Array<() => void> = [];

  constructor(o: BatcherOptions) {
    this.o = o;
  }

  get queuedRows(): number {
    return this.queued;
  }
  get outstandingRows(): number {
    return this.outstanding;
  }

  /** Queues a job; rejects with InvalidJobError (bad shape/values), OverloadError or ShuttingDownError. */
  submit(job: RankJob): Promise<JobResult> {
    if (this.closing) return Promise.reject(new ShuttingDownError("ranking service is shutting down"));
    const invalid = checkJob(job);
    if (invalid) return Promise.reject(invalid);
    if (job.rows === 0) {
      return Promise.resolve({ scores: new Float32Array(0), modelVersion: "", batchRows: 0, queueMs: 0, inferMs: 0, nonFiniteScores: 0 });
    }
    // An idle service always admits one request, however large, so no request is unservable.
    if (this.outstanding > 0 && this.outstanding + job.rows > this.o.maxQueueRows) {
      return Promise.reject(new OverloadError(`queue full (${this.outstanding} rows outstanding, limit ${this.o.maxQueueRows})`));
    }
    return new Promise<JobResult>((resolve, reject) => {
      this.queue.push({
        job, scores: new Float32Array(job.rows), offset: 0, done: 0, enqueuedAt: performance.now(),
        queueMs: -1, inferMs: 0, batchRows: 0, nonFinite: 0, settled: false, resolve, reject,
      });
      this.queued += job.rows;
      this.outstanding += job.rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queued >= this.o.maxBatchRows || this.closing) {
      this.clearTimer();
      queueMicrotask(() => this.dispatch());
    } else if (!this.timer) {
      // setImmediate for 0 still lets requests parsed in the same I/O turn join the batch.
      const fire = () => {
        this.timer = null;
        this.dispatch();
      };
      this.timer = this.o.maxWaitMs > 0 ? setTimeout(fire, this.o.maxWaitMs) : (setImmediate(fire) as unknown as NodeJS.Timeout);
    }
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
      this.timer = null;
    }
  }

  /** Takes whole requests while they fit; only an oversized head request is cut into batch-size parts. */
  private take(): Part[] {
    const parts: Part[] = [];
    let filled = 0;
    while (this.queue.length > 0 && filled < this.o.maxBatchRows) {
      const p = this.queue[0];
      const left = p.job.rows - p.offset;
      const room = this.o.maxBatchRows - filled;
      if (left > room && filled > 0) break;
      const rows = Math.min(left, room);
      parts.push({ p, from: p.offset, rows });
      p.offset += rows;
      filled += rows;
      if (p.offset === p.job.rows) this.queue.shift();
    }
    this.queued -= filled;
    return parts;
  }

  private dispatch(): void {
    if (this.running || this.queue.length === 0) return;
    this.clearTimer();
    const parts = this.take();
    const rows = parts.reduce((s, x) => s + x.rows, 0);
    const user = new Float32Array(rows * EMBEDDING_DIM);
    // A batch of one whole request runs on that request's own blocks (no copy).
    const whole = parts.length === 1 && parts[0].rows === parts[0].p.job.rows;
    const video = whole ? parts[0].p.job.video : new Float32Array(rows * EMBEDDING_DIM);
    const ctx = whole ? parts[0].p.job.ctx : new Float32Array(rows * CTX_DIM);
    let r = 0;
    const now = performance.now();
    for (const { p, from, rows: n } of parts) {
      if (p.queueMs < 0) p.queueMs = now - p.enqueuedAt;
      broadcastRow(user, p.job.user, r, n);
      if (!whole) {
        video.set(p.job.video.subarray(from * EMBEDDING_DIM, (from + n) * EMBEDDING_DIM), r * EMBEDDING_DIM);
        ctx.set(p.job.ctx.subarray(from * CTX_DIM, (from + n) * CTX_DIM), r * CTX_DIM);
      }
      r += n;
    }
    this.running = true;
    const t0 = performance.now();
    this.o
      .run({ user, video, ctx, rows })
      .then(
        ({ scores, modelVersion }) => {
          const ms = performance.now() - t0;
          // A model that answers with the wrong number of rows is broken for everyone in the batch.
          if (scores.length !== rows) throw new Error(`model returned ${scores.length} scores for ${rows} rows`);
          this.o.onBatch?.(rows, ms);
          let off = 0;
          let nonFinite = 0;
          for (const { p, from, rows: n } of parts) {
            const mine = p.scores.subarray(from, from + n);
            mine.set(scores.subarray(off, off + n));
            const bad = sanitiseScores(mine);
            p.nonFinite += bad;
            nonFinite += bad;
            off += n;
            p.inferMs += ms;
            p.batchRows = Math.max(p.batchRows, rows);
            p.done += n;
            if (p.done === p.job.rows && !p.settled) {
              p.settled = true;
              this.finish(p);
              p.resolve({ scores: p.scores, modelVersion, batchRows: p.batchRows, queueMs: p.queueMs, inferMs: p.inferMs, nonFiniteScores: p.nonFinite });
            }
          }
          if (nonFinite > 0) this.o.onNonFinite?.(nonFinite);
        },
      )
      .catch((err) => {
        for (const { p } of parts) this.fail(p, err);
      })
      .finally(() => {
        this.running = false;
        // Whatever queued up during the run has already waited; go again right away.
        if (this.queue.length > 0) queueMicrotask(() => this.dispatch());
        this.checkDrained();
      });
  }

  private finish(p: Pending): void {
    this.outstanding -= p.job.rows;
  }

  private fail(p: Pending, err: unknown): void {
    if (p.settled) return;
    p.settled = true;
    // Drop any not-yet-dispatched remainder of a split request.
    const idx = this.queue.indexOf(p);
    if (idx >= 0) {
      this.queue.splice(idx, 1);
      this.queued -= p.job.rows - p.offset;
    }
    this.finish(p);
    p.reject(err);
  }

  private checkDrained(): void {
    if (this.outstanding === 0 && !this.running) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Stops admitting work and resolves once every admitted request has been answered. */
  drain(): Promise<void> {
    this.closing = true;
    this.schedule(); // flush a pending wait timer immediately
    return new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
  }
}
