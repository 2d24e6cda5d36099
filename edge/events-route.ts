import type { Context } from "hono";
import { EventsBodySchema } from "../shared/contract.ts";
import { ApiError, fromZodError } from "../shared/errors.ts";
import { readJsonBody } from "../shared/json-body.ts";
import type { EdgeEnv } from "./app-env.ts";
import { type EventsMessage, EVENTS_MAX_BODY_BYTES } from "./events-message.ts";
import { requestSession } from "./session.ts";

// POST /v1/events: authenticate, validate, hand the batch to the EVENTS queue. The 202 is only sent
// after Queue.send() resolved, i.e. after Cloudflare Queues persisted the message: from then on the
// consumer (edge/events-consumer.ts) retries delivery to the user's home-region origin until it lands.
// The home region comes from the signed token, never from the body, so a client cannot steer its
// writes into another region's database.
export async function eventsRoute(c: Context<EdgeEnv>): Promise<Response> {
  const session = await requestSession(c);
  if (!session) throw new ApiError(401, "unauthorized", "events require a session token", "authorization");
  const raw = await readJsonBody(c.req, EVENTS_MAX_BODY_BYTES);
  const parsed = EventsBodySchema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error);
  const msg: EventsMessage = {
    user_id: session.userId,
    home_region: session.homeRegion,
    events: parsed.data.events,
    received_at: new Date().toISOString(),
    request_id: c.get("requestId"),
  };
  if (!c.env.EVENTS) throw new ApiError(503, "unavailable", "event queue not bound in this deployment");
  try {
    await c.env.EVENTS.send(msg, { contentType: "json" });
  } catch (e) {
    // Not durable → not acknowledged: the client keeps the batch and retries.
    console.error(`events queue send failed: ${(e as Error).message}`);
    c.header("retry-after", "1");
    throw new ApiError(503, "unavailable", "event queue temporarily unavailable; retry");
  }
  return c.json({ accepted: msg.events.length, queued: true }, 202);
}
