// `npm start`'s stop (task HB): the local EVENTS queue is Miniflare's in-memory broker (wrangler dev has no
// persistence option for queue messages: they live in the workerd process), so messages answered 202
// (events, queued uploads and edits) but not yet delivered are lost when the edge stops. Before stopping,
// wait (bounded) for the edge's consumer to deliver them, then say plainly how many are dropped.
// Production Cloudflare Queues are durable; nothing here pretends the local queue is.

/** Default bound on the wait (ms). */
export const DRAIN_TIMEOUT_MS = 30_000;

/**
 * The edge's undelivered EVENTS messages: GET <edgeUrl>/v1/status → edge.queue.pending (edge/queue-counts.ts),
 * 3 s timeout. null when the edge did not answer or the field is missing.
 */
export async function pendingQueueMessages(edgeUrl: string): Promise<number | null> {
  try {
    const r = await fetch(`${edgeUrl}/v1/status`, { signal: AbortSignal.timeout(3000) });
    const body = (await r.json()) as { edge?: { queue?: { pending?: unknown } } };
    const p = body.edge?.queue?.pending;
    return typeof p === "number" ? p : null;
  } catch {
    return null;
  }
}

/**
 * Polls pendingQueueMessages until 0, `timeoutMs` (ms) or `skip()` is true (a second Ctrl-C).
 * Logs the count while waiting. Resolves the last count (null = unknown).
 */
export async function drainQueue(
  edgeUrl: string, opts: { timeoutMs?: number; pollMs?: number; log?: (l: string) => void; skip?: () => boolean } = {},
): Promise<number | null> {
  const deadline = Date.now() + (opts.timeoutMs ?? DRAIN_TIMEOUT_MS);
  let last: number | null = null;
  for (;;) {
    const n = await pendingQueueMessages(edgeUrl);
    if (n === 0 && last !== null) opts.log?.("fyp-edge: every acknowledged queue message delivered.");
    if (n === 0 || n === null) return n;
    if (n !== last) opts.log?.(`fyp-edge: ${n} acknowledged queue message(s) not delivered yet; waiting for delivery (up to ${Math.round((deadline - Date.now()) / 1000)} s; Ctrl-C again to drop them) …`);
    last = n;
    if (Date.now() >= deadline || opts.skip?.()) return n;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

/** The line printed after the wait: what the stop drops, plainly. */
export function dropLine(n: number | null): string | null {
  if (n === 0) return null;
  if (n === null) return "fyp-edge: could not read the edge's queue count; any acknowledged events/uploads/edits still queued are dropped (the local queue is in memory).";
  return `fyp-edge: DROPPING ${n} acknowledged (202) queue message(s) (events, queued uploads/edits): the local queue is in memory and does not survive a stop (production Cloudflare Queues are durable).`;
}
