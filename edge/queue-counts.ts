import type { Message, MessageBatch, Queue } from "@cloudflare/workers-types";

// Messages this isolate put on the EVENTS queue (events, queued uploads/edits: each one answered 202) and
// messages its consumer settled (acked: delivered, or parked in the dead letters), reported by /v1/status
// as edge.queue (task HB). Under `npm start` the producer and the consumer are one workerd isolate and
// the queue is Miniflare's in-memory broker (no persistence option: its messages and retry timers live in
// the process), so `pending` = acknowledged messages that a stop would drop; `npm start` waits for it to
// reach 0 on Ctrl-C (bounded) and prints what it drops. In production (Cloudflare Queues, durable) sends
// and deliveries run in different isolates: the counts are per isolate and `pending` means nothing there.
export const queueCounts = { sent: 0, settled: 0 };

/** { sent, settled, pending = sent − settled (≥ 0), scope } for /v1/status. */
export function queueCountsView(): { sent: number; settled: number; pending: number; scope: string } {
  return { ...queueCounts, pending: Math.max(0, queueCounts.sent - queueCounts.settled), scope: "this isolate (local stack: the in-memory queue's undelivered messages)" };
}

/** `q` whose send()/sendBatch() count the messages once the queue accepted them (resolved). */
export function countingQueue<T>(q: Queue<T>): Queue<T> {
  return new Proxy(q, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (prop === "send") return async (...a: Parameters<Queue<T>["send"]>) => { const r = await target.send(...a); queueCounts.sent++; return r; };
      if (prop === "sendBatch") return async (...a: Parameters<Queue<T>["sendBatch"]>) => { const r = await target.sendBatch(...a); queueCounts.sent += [...a[0]].length; return r; };
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** `batch` whose messages count one settled on ack() (and ackAll() counts them all). retry() counts nothing. */
export function countingBatch<T>(batch: MessageBatch<T>): MessageBatch<T> {
  const acked = new WeakSet<object>();
  const ack = (m: Message<T>) => { if (!acked.has(m)) (acked.add(m), queueCounts.settled++); };
  const messages = batch.messages.map((m) => new Proxy(m, {
    get(target, prop) {
      if (prop === "ack") return () => (ack(target), target.ack());
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }));
  return new Proxy(batch, {
    get(target, prop) {
      if (prop === "messages") return messages;
      if (prop === "ackAll") return () => (target.messages.forEach(ack), target.ackAll());
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
