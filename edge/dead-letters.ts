import type { KVNamespace } from "@cloudflare/workers-types";
import { z } from "zod";

// Dead letters of the events queue: messages that can never be written (the origin refused their data,
// the message is malformed, or delivery retries ran out) are parked here with their reason instead of
// being dropped or retried forever. Parked messages are listed by /v1/status and the ops page, and
// `npm run dlq -- --list | --replay` (admin API) puts them back on the queue after a fix: the origin's
// per-user idempotency keys make a replay of anything already written harmless.
// KV, not a Durable Object: parking is rare, listing is an ops read, and KV is already bound; KV's
// eventual consistency only delays when a parked letter shows up in a list (seconds, across PoPs).

const PREFIX = "dlq:";
/** How long a parked letter is kept (KV expiration): 30 days. */
export const DEAD_LETTER_TTL_S = 30 * 86_400;

export const DeadLetterSchema = z.object({
  id: z.string(),
  /** Why it can never be delivered as it is. */
  reason: z.string(),
  parked_at: z.string(),
  attempts: z.number().int(),
  /** Which queue message kind it was (the body is replayed unchanged). */
  queue: z.string(),
  body: z.unknown(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** Keys sort by park time, so a list is oldest first. */
const keyOf = (l: Pick<DeadLetter, "parked_at" | "id">) => `${PREFIX}${l.parked_at}:${l.id}`;

/** Parks one message with its reason (kept DEAD_LETTER_TTL_S). */
export async function parkDeadLetter(kv: KVNamespace, letter: Omit<DeadLetter, "parked_at"> & { parked_at?: string }): Promise<DeadLetter> {
  const full: DeadLetter = { ...letter, parked_at: letter.parked_at ?? new Date().toISOString() };
  await kv.put(keyOf(full), JSON.stringify(full), { expirationTtl: DEAD_LETTER_TTL_S });
  return full;
}

/** Parked letters, oldest first, at most `limit`, with the total count of keys seen (≤ 1000 per page). */
export async function listDeadLetters(kv: KVNamespace, limit = 100): Promise<{ count: number; letters: DeadLetter[] }> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: PREFIX, cursor });
    keys.push(...page.keys.map((k) => k.name));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor && keys.length < 10_000);
  const letters: DeadLetter[] = [];
  for (const k of keys.slice(0, limit)) {
    const p = DeadLetterSchema.safeParse(await kv.get(k, "json"));
    if (p.success) letters.push(p.data);
  }
  return { count: keys.length, letters };
}

/**
 * Removes and returns the letters with these ids (all when `ids` is undefined), so each is replayed by
 * exactly one caller; a letter whose re-send fails should be parked again by the caller.
 */
export async function takeDeadLetters(kv: KVNamespace, ids?: readonly string[]): Promise<DeadLetter[]> {
  const { letters } = await listDeadLetters(kv, 10_000);
  const wanted = ids ? letters.filter((l) => ids.includes(l.id)) : letters;
  await Promise.all(wanted.map((l) => kv.delete(keyOf(l))));
  return wanted;
}
