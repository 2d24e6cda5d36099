import { describe, expect, it } from "vitest";
import { InvalidJobError, MicroBatcher, type BatchInput, type RankJob } from "../../gpu-inference/batcher.ts";

// The micro-batcher with a runner standing in for the model (the real ONNX path is covered by
// test/integration/rank-service-inputs.test.ts): score of a row = its video embedding's first value.
function job(firstValues: number[]): RankJob {
  const rows = firstValues.length;
  const video = new Float32Array(rows * 16).fill(0.1);
  firstValues.forEach((v, i) => (video[i * 16] = v));
  return { user: new Float32Array(16).fill(0.2), video, ctx: new Float32Array(rows * 4).fill(0.5), rows };
}

function batcher(run?: (b: BatchInput) => Float32Array) {
  const batches: number[] = [];
  const nonFinite: number[] = [];
  const b = new MicroBatcher({
    maxBatchRows: 1000,
    maxWaitMs: 20,
    maxQueueRows: 10_000,
    run: async (input) => {
      batches.push(input.rows);
      const scores = run ? run(input) : Float32Array.from({ length: input.rows }, (_, i) => input.video[i * 16]);
      return { scores, modelVersion: "m-test" };
    },
    onNonFinite: (n) => nonFinite.push(n),
  });
  return { b, batches, nonFinite };
}

describe("micro-batcher isolation", () => {
  it("refuses a job with a non-finite or out-of-range input before queueing it; the batch it would have joined still runs", async () => {
    const { b, batches } = batcher();
    for (const [bad, field, where] of [
      [(j: RankJob) => (j.video[16 + 3] = 1e38), "candidates.embedding", "row 1, value 3 is 1e+38"],
      [(j: RankJob) => (j.ctx[5] = Number.NaN), "candidates.ctx", "row 1, value 1 is NaN"],
      [(j: RankJob) => (j.user[2] = -Infinity), "user.embedding", "row 0, value 2 is -Infinity"],
    ] as const) {
      const badJob = job([0.1, 0.2, 0.3]);
      bad(badJob);
      const [good1, refused, good2] = await Promise.allSettled([b.submit(job([0.5, 0.4])), b.submit(badJob), b.submit(job([0.7]))]);
      expect(refused.status).toBe("rejected");
      const err = (refused as PromiseRejectedResult).reason;
      expect(err).toBeInstanceOf(InvalidJobError);
      expect(err.field).toBe(field);
      expect(err.message).toContain(`${where}`);
      expect(good1.status === "fulfilled" && Array.from(good1.value.scores)).toEqual([0.5, 0.4].map(Math.fround));
      expect(good2.status === "fulfilled" && good2.value.batchRows).toBe(3); // the two good jobs shared one run
    }
    expect(batches).toEqual([3, 3, 3]);
    expect(b.outstandingRows).toBe(0);
  });

  it("refuses blocks whose length does not match rows (they would shift every later row of the batch)", async () => {
    const { b } = batcher();
    const short = { ...job([0.1, 0.2]), ctx: new Float32Array(7) };
    await expect(b.submit(short)).rejects.toMatchObject({ name: "InvalidJobError", field: "candidates.ctx", message: "expected 8 values, got 7" });
    await expect(b.submit({ ...job([0.1]), user: new Float32Array(15) })).rejects.toMatchObject({ field: "user.embedding" });
    await expect(b.submit({ ...job([0.1]), rows: 1.5 })).rejects.toMatchObject({ field: "candidates" });
    expect(b.outstandingRows).toBe(0);
  });

  it("a non-finite model score becomes 0 for its own row only, is counted, and never reaches other requests", async () => {
    // This runner answers NaN / ±Infinity for rows whose first value is 1, 2 or 3.
    const { b, nonFinite } = batcher((input) =>
      Float32Array.from({ length: input.rows }, (_, i) => {
        const v = input.video[i * 16];
        return v === 1 ? Number.NaN : v === 2 ? Infinity : v === 3 ? -Infinity : v / 10;
      }),
    );
    const [a, c] = await Promise.all([b.submit(job([1, 0.5, 2, 3])), b.submit(job([0.4, 0.6]))]);
    const f = (x: number) => Math.fround(Math.fround(x) / 10); // what the runner computes, stored as float32
    expect(Array.from(a.scores)).toEqual([0, f(0.5), 0, 0]);
    expect(a.nonFiniteScores).toBe(3);
    expect(Array.from(c.scores)).toEqual([f(0.4), f(0.6)]);
    expect(c.nonFiniteScores).toBe(0);
    expect(nonFinite).toEqual([3]);
  });

  it("a model answering with the wrong number of scores fails its batch (503 upstream), and the batcher recovers", async () => {
    let calls = 0;
    const { b } = batcher((input) => (calls++ === 0 ? new Float32Array(input.rows - 1) : new Float32Array(input.rows).fill(0.5)));
    const results = await Promise.allSettled([b.submit(job([0.1, 0.2])), b.submit(job([0.3]))]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((results[0] as PromiseRejectedResult).reason.message).toBe("model returned 2 scores for 3 rows");
    expect(b.outstandingRows).toBe(0);
    expect(Array.from((await b.submit(job([0.1]))).scores)).toEqual([0.5]);
  });
});
