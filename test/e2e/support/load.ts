import { mintSessionToken } from "../../../shared/auth.ts";

// Bounded steady load for chaos tests: a few workers loop over feed reads (anonymous and personalized,
// all regions) and event batches (unique idempotency keys, remembered per home region when acknowledged
// with 202). Everything is counted so the test can assert "zero 5xx" and "every 202 landed once".
export interface LoadStats {
  feedReads: number;
  feed5xx: number;
  feedOther: number;
  eventPosts: number;
  events202: number;
  eventsNot202: number;
  acked: Record<string, string[]>;
  levels: Map<number, number>;
}

export function startLoad(edgeUrl: string, secret: string, users: Record<string, string[]>, concurrency = 4) {
  const stats: LoadStats = { feedReads: 0, feed5xx: 0, feedOther: 0, eventPosts: 0, events202: 0, eventsNot202: 0, acked: { us: [], eu: [], apac: [] }, levels: new Map() };
  let running = true;
  let seq = 0;
  const regions = Object.keys(users);
  const tokens = new Map<string, Promise<string>>();
  const token = (u: string, r: string) => {
    if (!tokens.has(u)) tokens.set(u, mintSessionToken(secret, u, r as "us"));
    return tokens.get(u)!;
  };
  const worker = async (w: number) => {
    while (running) {
      const n = seq++;
      const region = regions[n % regions.length];
      const pool = users[region];
      const user = pool[n % pool.length];
      try {
        if (n % 4 === 3) {
          const key = `chaos-${Date.now()}-${w}-${n}`;
          stats.eventPosts++;
          const r = await fetch(`${edgeUrl}/v1/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${await token(user, region)}`, "content-type": "application/json" },
            body: JSON.stringify({ events: [{ type: "view", video_id: `v${1 + (n % 500)}`, watch_ms: 1000, ts: new Date().toISOString(), idempotency_key: key }] }),
          });
          await r.arrayBuffer();
          if (r.status === 202) {
            stats.events202++;
            stats.acked[region].push(key);
          } else stats.eventsNot202++;
        } else {
          const personal = n % 2 === 0;
          const headers: Record<string, string> = personal ? { authorization: `Bearer ${await token(user, region)}` } : {};
          const r = await fetch(`${edgeUrl}/v1/feed?count=${5 + (n % 20)}&region=${region}`, { headers });
          const body = (await r.json().catch(() => null)) as { degradation_level?: number } | null;
          stats.feedReads++;
          if (r.status >= 500) stats.feed5xx++;
          else if (r.status !== 200) stats.feedOther++;
          if (body?.degradation_level !== undefined) stats.levels.set(body.degradation_level, (stats.levels.get(body.degradation_level) ?? 0) + 1);
        }
      } catch {
        stats.feedOther++; // client-side failure (connection reset): counted, not a 5xx
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return {
    stats,
    async stop() {
      running = false;
      await done;
    },
  };
}
