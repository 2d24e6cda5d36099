import { z } from "zod";
import { EventSchema } from "../shared/contract.ts";
import { RegionSchema } from "../shared/regions.ts";

// The message that travels edge → Queue → consumer → home-region origin. One message per accepted
// request; the origin writes its events idempotently (unique per user and idempotency_key), so redelivery is safe.
export const EVENTS_MAX_BODY_BYTES = 64 * 1024;

export const EventsMessageSchema = z.object({
  user_id: z.string().regex(/^u[1-9][0-9]{0,17}$/),
  home_region: RegionSchema,
  events: z.array(EventSchema).min(1).max(100),
  received_at: z.string(),
  request_id: z.string(),
});
export type EventsMessage = z.infer<typeof EventsMessageSchema>;
