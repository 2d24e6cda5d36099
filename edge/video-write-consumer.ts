import type { Message } from "@cloudflare/workers-types";
import { VideoWriteMessageSchema } from "../shared/video-write-contract.ts";
import { FORCED_LEVEL_HEADER, forcedOriginLevel } from "../shared/forced-level-header.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { retryDelaySeconds } from "./events-consumer.ts";
import { getForcedLevels } from "./forced-levels.ts";
import { callOrigin } from "./origin-client.ts";

// Delivery of queued catalogue writes (a message kind of the EVENTS queue, edge/video-write-route.ts) to
// the creator's home-region origin, never to another region. A 2xx (201 created / 200 already there or
// edit applied or superseded) acks; 503, 409 (not yet writable there), 429 and unreachable origins retry
// with the events consumer's growing delay, so the write waits out a level-3 period or an outage. Any
// other 4xx can never succeed (the origin refused the content, e.g. an edit of a video its sender does
// not own): acked and logged with the reason.
const RETRY_4XX = new Set([408, 409, 425, 429]);

export async function deliverVideoWrite(env: EdgeBindings, msg: Message<unknown>): Promise<void> {
  const parsed = VideoWriteMessageSchema.safeParse(msg.body);
  if (!parsed.success) {
    console.error(`dropping malformed video write ${msg.id}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
    return msg.ack();
  }
  const m = parsed.data;
  const home = m.body.home_region;
  const path = m.kind === "video_upload" ? "/internal/v1/videos" : `/internal/v1/videos/${m.video_id}`;
  let why: string;
  try {
    const forced = (await getForcedLevels(env.FYP_KV))[home];
    const res = await callOrigin(edgeConfig(env), home, path, {
      method: m.kind === "video_upload" ? "POST" : "PATCH",
      // An admin-forced level 3 holds the write back (the origin answers 503) like a measured one.
      headers: { "content-type": "application/json", "x-request-id": m.request_id, [FORCED_LEVEL_HEADER]: forcedOriginLevel(forced) },
      body: JSON.stringify(m.body),
    });
    const text = await res.text();
    if (res.ok) return msg.ack();
    if (res.status === 409 && text.includes('"id_taken"')) {
      console.error(`queued upload ${msg.id} refused: ${text.slice(0, 200)}`);
      return msg.ack();
    }
    if (res.status >= 400 && res.status < 500 && !RETRY_4XX.has(res.status)) {
      console.error(`queued ${m.kind} ${msg.id} refused by origin ${home}: ${res.status} ${text.slice(0, 200)}`);
      return msg.ack();
    }
    why = `origin ${home} answered ${res.status}`;
  } catch (e) {
    why = (e as Error).message;
  }
  console.warn(`queued ${m.kind} for ${home} not written yet (${why}); retry #${msg.attempts}`);
  msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, Number(env.EVENTS_MAX_RETRY_DELAY_S ?? 60)) });
}
