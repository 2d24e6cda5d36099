import type { Message, MessageBatch } from "@cloudflare/workers-types";
import { edgeConfig, type EdgeBindings, type EdgeConfig } from "./env.ts";
import { EventsMessageSchema, type EventsMessage } from "./events-message.ts";
import { callOrigin, EVENTS_DELIVERY_RETRY } from "./origin-client.ts";
import { deliverVideoWrite } from "./video-write-consumer.ts";
import { isVideoWriteMessage } from "../shared/video-write-contract.ts";
import { isOriginFault, reportOriginError } from "./origin-error-report.ts";
import { parkDeadLetter } from "./dead-letters.ts";
import { getForcedLevels } from "./forced-levels.ts";
import { FORCED_LEVEL_HEADER, forcedOriginLevel } from "../shared/forced-level-header.ts";

// Queue consumer for EVENTS: deliver each message to the user's home-region origin
// (/internal/v1/events). Only a 2xx acks the message; anything else (region down, DB down → origin
// 503, timeout) retries with a growing delay, so events wait in the queue during an outage instead of
// being written to another region (residency) or dropped (durability). A message that can never succeed
// (malformed, or its data refused by the origin with a permanent 4xx) is parked in the dead letters with
// its reason (edge/dead-letters.ts) and acked; so is one whose deliveries ran out
// (EVENTS_MAX_DELIVERY_ATTEMPTS, default 100 = the queue's max_retries), with its last error.
// The origin call waits out the origin's own DB retries (edge/origin-client.ts EVENTS_DELIVERY_RETRY) and
// does not re-call on its 503: that answer comes after those retries (or is level 3's writes_queued), so the
// queue's delayed redelivery below is the next try.
export function retryDelaySeconds(attempts: number, maxDelayS = 60): number {
  return Math.max(1, Math.min(maxDelayS, 2 ** Math.min(attempts, 6)));
}

/** Origin statuses the delivery call re-tries at once: the platform could not reach the origin. */
const RETRY_AT_ONCE: ReadonlySet<number> = new Set([502, 504]);

/**
 * POSTs one message's events to its home-region origin (/internal/v1/events) under EVENTS_DELIVERY_RETRY,
 * with the admin-forced level header `forcedLevel`; resolves with the origin's response (any status but a
 * 502/504 that outlived the retries), throws OriginUnavailable when the origin was not reached.
 */
export function sendEvents(cfg: EdgeConfig, m: EventsMessage, forcedLevel: string): Promise<Response> {
  return callOrigin(cfg, m.home_region, "/internal/v1/events", {
    method: "POST",
    // An admin-forced level travels with the write (level 3: the origin answers 503, the events stay queued).
    headers: { "content-type": "application/json", "x-request-id": m.request_id, [FORCED_LEVEL_HEADER]: forcedLevel },
    body: JSON.stringify({ user_id: m.user_id, home_region: m.home_region, events: m.events }),
  }, EVENTS_DELIVERY_RETRY, RETRY_AT_ONCE);
}

/** Statuses that mean "not now" rather than "never": retried. Every other 4xx is permanent. */
const TRANSIENT_4XX = new Set([408, 409, 425, 429]);
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 100;

async function park(env: EdgeBindings, msg: Message<unknown>, reason: string): Promise<void> {
  console.error(`dead-lettering events message ${msg.id}: ${reason}`);
  await parkDeadLetter(env.FYP_KV, { id: msg.id, reason, attempts: msg.attempts, queue: "fyp-events", body: msg.body });
  msg.ack();
}

async function deliver(env: EdgeBindings, msg: Message<unknown>): Promise<void> {
  // Queued catalogue writes (uploads, edits) share the queue: edge/video-write-consumer.ts.
  if (isVideoWriteMessage(msg.body)) return deliverVideoWrite(env, msg);
  const parsed = EventsMessageSchema.safeParse(msg.body);
  if (!parsed.success) return park(env, msg, `malformed message: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
  let lastError: string;
  const m = parsed.data;
  try {
    const res = await sendEvents(edgeConfig(env), m, forcedOriginLevel((await getForcedLevels(env.FYP_KV))[m.home_region]));
    const text = await res.text();
    if (res.ok) return msg.ack();
    // The origin refused the content itself: retrying the same bytes can never succeed.
    if (res.status >= 400 && res.status < 500 && !TRANSIENT_4XX.has(res.status)) return park(env, msg, `origin ${m.home_region} refused it: ${res.status} ${text.slice(0, 300)}`);
    lastError = `origin ${m.home_region} answered ${res.status} ${text.slice(0, 200)}`;
    // Restarts a recovering region's error-free timer; level 3's writes_queued is not a fault of the region.
    if (isOriginFault(res.status, text)) await reportOriginError(env, m.home_region, lastError);
  } catch (e) {
    lastError = `origin ${m.home_region} not reached: ${(e as Error).message}`;
    await reportOriginError(env, m.home_region, lastError);
  }
  if (msg.attempts >= Number(env.EVENTS_MAX_DELIVERY_ATTEMPTS ?? DEFAULT_MAX_DELIVERY_ATTEMPTS)) return park(env, msg, `delivery gave up after ${msg.attempts} attempts; last: ${lastError}`);
  console.warn(`events for ${m.home_region} not written yet (${lastError}); retry #${msg.attempts}`);
  msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, Number(env.EVENTS_MAX_RETRY_DELAY_S ?? 60)) });
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: EdgeBindings): Promise<void> {
  if (batch.queue.endsWith("-dlq")) {
    // Queues moved these after max_retries (the consumer parks them itself before that, so this is the
    // backstop, e.g. for a consumer that kept crashing): park with what is known.
    await Promise.all(batch.messages.map((m) => park(env, m, `moved to ${batch.queue} by Queues after ${m.attempts} attempts`)));
    return;
  }
  await Promise.all(batch.messages.map((m) => deliver(env, m)));
}
