import { mintSessionToken } from "../../../shared/auth.ts";

// Bounded steady load for chaos tests: a few workers loop over feed reads (anonymous and personalized,
// all regions) and event batches (unique idempotency keys, remembered per home region when acknowledged
// with 202). Everything is counted per phase (the chaos step that was running when the request was
// sent) so the test can assert "zero 5xx" and "every 202 landed once" and report figures per scenario.
export interface PhaseStats {
  feedReads: number;
  feed5xx: number;
  feedOther: number;
  eventPosts: number;
  events202: number;
  eventsNot202: number;
  /** Idempotency keys acknowledged with 202, by the user's home region. */
  acked: Record<string, string[]>;
  /** Feed responses by degradation level. */
  levels: Record<number, number>;
}

const emptyPhase = (): PhaseStats => ({ feedReads: 0, feed5xx: 0, feedOther: 0, eventPosts: 0, events202: 0, eventsNot202: 0, acked: { us: [], eu: [], apac: [] }, levels: {} });

/** Sum of several phases (the whole run). */
export function totals(phases: Iterable<PhaseStats>): PhaseStats {
  const t = emptyPhase();
  for (const p of phases) {
    for (const k of ["feedReads", "feed5xx", "feedOther", "eventPosts", "events202", "eventsNot202"] as const) t[k] += p[k];
    for (const [r, keys] of Object.entries(p.acked)) t.acked[r].push(...keys);
    for (const [l, n] of Object.entries(p.levels)) t.levels[Number(l)] = (t.levels[Number(l)] ?? 0) + n;
  }
  return t;
}

export function startLoad(edgeUrl: string, secret: string, users: Record<string, string[]>, concurrency = 4) {
  const phases = new Map<string, PhaseStats>();
  let phase = "warm-up";
  const current = () => {
    let p = phases.get(phase);
    if (!p) phases.set(phase, (p = emptyPhase()));
    return p;
  };
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
      const stats = current(); // the phase the request was sent in, even if it ends in the next one
      const isEvent = n % 4 === 3;
      try {
        if (isEvent) {
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
          stats.feedReads++;
          const r = await fetch(`${edgeUrl}/v1/feed?count=${5 + (n % 20)}&region=${region}`, { headers });
          const body = (await r.json().catch(() => null)) as { degradation_level?: number } | null;
          if (r.status >= 500) stats.feed5xx++;
          else if (r.status !== 200) stats.feedOther++;
          if (body?.degradation_level !== undefined) stats.levels[body.degradation_level] = (stats.levels[body.degradation_level] ?? 0) + 1;
        }
      } catch {
        // Client-side failure (connection reset): not a 5xx, but counted as a failed read / unacknowledged event.
        if (isEvent) stats.eventsNot202++;
        else stats.feedOther++;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return {
    phases,
    /** Requests sent from now on are counted under `name`. */
    setPhase(name: string) {
      phase = name;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
