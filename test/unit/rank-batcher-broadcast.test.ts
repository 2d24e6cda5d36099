import { describe, expect, it } from "vitest";
import { MicroBatcher, type BatchInput, type RankJob } from "../../gpu-inference/batcher.ts";

// What the micro-batcher hands the model: each request's user embedding on every one of its rows (written
// by doubling copies), its own video/context rows in order, and for a batch of one whole request that
// request's own blocks. Service-built jobs (`checked`, the feature table's) skip the value scan only.

const job = (userValue: number, rows: number, first: number): RankJob => {
  const video = new Float32Array(rows * 16);
  for (let i = 0; i < rows; i++) video[i * 16] = (first + i) / 100; // within the feature range
  return { user: Float32Array.from({ length: 16 }, (_, d) => userValue + d / 100), video, ctx: new Float32Array(rows * 4).fill(0.5), rows };
};

function batcher(maxBatchRows: number) {
  const inputs: BatchInput[] = [];
  const b = new MicroBatcher({
    maxBatchRows, maxWaitMs: 50, maxQueueRows: 100_000,
    run: async (input) => {
      inputs.push({ ...input, user: input.user.slice(), video: input.video.slice() });
      return { scores: Float32Array.from({ length: input.rows }, (_, i) => input.video[i * 16] / 1000), modelVersion: "m" };
    },
  });
  return { b, inputs };
}

describe("micro-batcher rows", () => {
  it("every row carries its own request's user embedding, across requests, odd sizes and a split request", async () => {
    const { b, inputs } = batcher(40);
    const jobs = [job(1, 3, 0), job(2, 37, 100), job(3, 1, 200), job(4, 50, 300)]; // the last one is split over two batches
    const results = await Promise.all(jobs.map((j) => b.submit(j)));
    const rows = inputs.flatMap((x) => Array.from({ length: x.rows }, (_, i) => ({ user: Array.from(x.user.subarray(i * 16, i * 16 + 16)), first: x.video[i * 16] })));
    let r = 0;
    for (const j of jobs) {
      for (let i = 0; i < j.rows; i++, r++) {
        expect(rows[r].user).toEqual(Array.from(j.user));
        expect(rows[r].first).toBe(j.video[i * 16]);
      }
    }
    results.forEach((res, k) => expect(Array.from(res.scores)).toEqual(Array.from({ length: jobs[k].rows }, (_, i) => Math.fround(jobs[k].video[i * 16] / 1000))));
  });

  it("a batch of one whole request runs on that request's blocks", async () => {
    const seen: Float32Array[] = [];
    const b = new MicroBatcher({ maxBatchRows: 100, maxWaitMs: 0, maxQueueRows: 1000, run: async (x) => (seen.push(x.video), { scores: new Float32Array(x.rows), modelVersion: "m" }) });
    const j = job(1, 5, 0);
    await b.submit(j);
    expect(seen[0]).toBe(j.video);
  });

  it("a checked (service-built) job skips the value scan but not the shape check", async () => {
    const { b } = batcher(100);
    const odd = { ...job(1, 2, 0), checked: true };
    odd.video[3] = 12; // out of the feature range: only a wire job would be refused for it
    await expect(b.submit(odd)).resolves.toBeDefined();
    await expect(b.submit({ ...job(1, 2, 0), ctx: new Float32Array(7), checked: true })).rejects.toMatchObject({ name: "InvalidJobError", field: "candidates" });
    await expect(b.submit({ ...job(1, 2, 0), video: Float32Array.from(odd.video) })).rejects.toMatchObject({ name: "InvalidJobError", field: "candidates.embedding" });
  });
});
