import type { Message, MessageBatch } from "@cloudflare/workers-types";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { EventsMessageSchema } from "./events-message.ts";
import { callOrigin } from "./origin-client.ts";

// Queue consumer for EVENTS: deliver each message to the user's home-region origin
// (/internal/v1/events). Only a 2xx acks the message; anything else (region down, DB down → origin
// 503, timeout) retries with a growing delay, so events wait in the queue during an outage instead of
// being written to another region (residency) or dropped (durability). A malformed message can never
// succeed, so it is acked and logged rather than retried forever.
export function retryDelaySeconds(attempts: number, maxDelayS = 60): number {
  return Math.max(1, Math.min(maxDelayS, 2 ** Math.min(attempts, 6)));
}

async function deliver(env: EdgeBindings, msg: Message<unknown>): Promise<void> {
  const parsed = EventsMessageSchema.safeParse(msg.body);
  if (!parsed.success) {
    console.error(`dropping malformed events message ${msg.id}: ${parsed.error.message}`);
    msg.ack();
    return;
  }
  const m = parsed.data;
  try {
    const res = await callOrigin(edgeConfig(env), m.home_region, "/internal/v1/events", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": m.request_id },
      body: JSON.stringify({ user_id: m.user_id, home_region: m.home_region, events: m.events }),
    });
    const text = await res.text();
    if (res.ok) return msg.ack();
    if (res.status >= 400 && res.status < 500 && res.status !== 409 && res.status !== 429) {
      // The origin rejected the content itself (cannot happen for messages the edge validated).
      console.error(`origin ${m.home_region} rejected events message ${msg.id}: ${res.status} ${text.slice(0, 200)}`);
      return msg.ack();
    }
    console.warn(`events for ${m.home_region} not written yet (${res.status}); retry #${msg.attempts}`);
  } catch (e) {
    console.warn(`events for ${m.home_region} not delivered (${(e as Error).message}); retry #${msg.attempts}`);
  }
  msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, Number(env.EVENTS_MAX_RETRY_DELAY_S ?? 60)) });
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: EdgeBindings): Promise<void> {
  await Promise.all(batch.messages.map((m) => deliver(env, m)));
}
