import type { Message, MessageBatch, Queue } from "@cloudflare/workers-types";
import { beforeEach, describe, expect, it } from "vitest";
import { countingBatch, countingQueue, queueCounts, queueCountsView } from "../../edge/queue-counts.ts";
import { dropLine } from "../../scripts/local/queue-drain.ts";

// edge/queue-counts.ts (new-user trial, task HB): events answered 202 while us was at level 3, then
// Ctrl-C, then npm start again: 0 rows and 0 dead letters, and nothing said so. The local queue is in
// memory; the edge now counts what it acknowledged and what its consumer settled, so `npm start` can
// wait for delivery and name what a stop drops. In-memory stand-ins for the Queue and MessageBatch
// interfaces: what is under test is the counting.
function queue(fail = false): Queue<unknown> {
  return {
    async send() { if (fail) throw new Error("queue down"); },
    async sendBatch() { if (fail) throw new Error("queue down"); },
  } as unknown as Queue<unknown>;
}
function batch(n: number): MessageBatch<unknown> & { acks: number } {
  const b = { acks: 0, queue: "fyp-events", messages: [] as Message<unknown>[], ackAll() {}, retryAll() {} };
  for (let i = 0; i < n; i++) b.messages.push({ id: `m${i}`, body: { i }, attempts: 1, ack: () => void b.acks++, retry() {} } as unknown as Message<unknown>);
  b.ackAll = () => void (b.acks += n);
  return b as unknown as MessageBatch<unknown> & { acks: number };
}

beforeEach(() => {
  queueCounts.sent = 0;
  queueCounts.settled = 0;
});

describe("edge queue counts", () => {
  it("counts accepted sends as pending until the consumer acks them; retries stay pending", async () => {
    const q = countingQueue(queue());
    await q.send({ a: 1 });
    await q.sendBatch([{ body: 1 }, { body: 2 }]);
    expect(queueCountsView().pending).toBe(3);
    const raw = batch(3);
    const b = countingBatch(raw);
    b.messages[0].ack();
    b.messages[0].ack(); // twice: still one settled
    b.messages[1].retry();
    expect(raw.acks).toBe(2); // the real ack ran each time
    expect(queueCountsView()).toMatchObject({ sent: 3, settled: 1, pending: 2 });
    b.ackAll();
    expect(queueCountsView().pending).toBe(0);
  });

  it("a send the queue refused (the route answers 503) is not counted", async () => {
    await expect(countingQueue(queue(true)).send({})).rejects.toThrow("queue down");
    expect(queueCountsView().sent).toBe(0);
  });

  it("npm start says plainly what a stop drops", () => {
    expect(dropLine(0)).toBeNull();
    expect(dropLine(4)).toMatch(/DROPPING 4 acknowledged .*in memory/);
    expect(dropLine(null)).toMatch(/could not read/);
  });
});
