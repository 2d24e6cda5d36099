// Synthetic impressions and their outcomes. Each user sees a candidate mix like a real feed's (popular,
// followed creators, on-topic, random), and reacts through a hidden engagement function:
//   p = sigmoid(A·dot(u, v) + B·ln(popularity) + C·followed + D·recency − BIAS)
// Affinity dominates, so a model over embeddings beats a popularity ranker, but popularity, follows and
// freshness all carry real signal. Outcome: like with prob p/2, view (watch ∝ p) with prob p/2, else skip.
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import type { Catalogue } from "./generate.ts";
import { TOPICS } from "./generate.ts";
import { WeightedSampler, createRng, dot, groupBy, sigmoid, type Rng } from "./sampling.ts";

export const ENGAGEMENT = { A: 5, B: 0.15, C: 1.0, D: 0.7, BIAS: 2.2, RECENCY_DAYS: 7 } as const;
export const INTERACTION_TYPES = ["like", "view", "skip"] as const;
const DAY = 86_400_000;

export interface Interactions {
  n: number;
  user: Uint32Array; // user index
  video: Uint32Array; // video index
  type: Uint8Array; // index into INTERACTION_TYPES
  watchMs: Uint32Array;
  tsMs: Float64Array;
  seq: Uint32Array; // per-user impression number, for the idempotency key
}

export function engagementProbability(affinity: number, popularity: number, followed: boolean, ageDays: number): number {
  const e = ENGAGEMENT;
  const recency = Math.exp(-Math.max(0, ageDays) / e.RECENCY_DAYS);
  return sigmoid(e.A * affinity + e.B * Math.log(popularity) + e.C * (followed ? 1 : 0) + e.D * recency - e.BIAS);
}

export function generateInteractions(cat: Catalogue, perUser: number): Interactions {
  // Own stream (seed-derived) so the catalogue stays identical whatever interactionsPerUser is.
  const rng: Rng = createRng((cat.params.seed ^ 0x5eed1e55) >>> 0);
  const { users, videos, follows, nowMs } = cat;
  const active = (j: number) => videos.status[j] === 0;
  const popular = new WeightedSampler(Array.from(videos.popularity, (p, j) => (active(j) ? p : 0)));
  const byTopic = groupBy(videos.topic, TOPICS);
  const byAuthor = groupBy(videos.author, users.n);
  const followsOf = groupBy(follows.follower, users.n); // items index into follows.followee

  const total = users.n * perUser;
  const out: Interactions = {
    n: 0,
    user: new Uint32Array(total),
    video: new Uint32Array(total),
    type: new Uint8Array(total),
    watchMs: new Uint32Array(total),
    tsMs: new Float64Array(total),
    seq: new Uint32Array(total),
  };
  const followed = new Set<number>();
  const seen = new Set<number>();
  const uniform = (start: Uint32Array, items: Uint32Array, k: number) => {
    const a = start[k], b = start[k + 1];
    return b > a ? items[a + rng.int(b - a)] : -1;
  };

  for (let u = 0; u < users.n; u++) {
    followed.clear();
    for (let f = followsOf.start[u]; f < followsOf.start[u + 1]; f++) followed.add(follows.followee[followsOf.items[f]]);
    const followedList = [...followed];
    seen.clear();
    for (let s = 0, tries = 0; s < perUser && tries < perUser * 20; tries++) {
      const x = rng.next();
      let j = -1;
      if (x < 0.4) j = popular.sample(rng);
      else if (x < 0.65 && followedList.length > 0) j = uniform(byAuthor.start, byAuthor.items, followedList[rng.int(followedList.length)]);
      else if (x < 0.9) {
        const t0 = users.topicStart[u], t1 = users.topicStart[u + 1];
        j = uniform(byTopic.start, byTopic.items, users.topicList[t0 + rng.int(t1 - t0)]);
      } else j = rng.int(videos.n);
      if (j < 0 || !active(j) || seen.has(j)) continue;
      seen.add(j);
      const ageDays = (nowMs - videos.createdMs[j]) / DAY;
      const affinity = dot(users.emb, u * EMBEDDING_DIM, videos.emb, j * EMBEDDING_DIM, EMBEDDING_DIM);
      const p = engagementProbability(affinity, videos.popularity[j], followed.has(videos.author[j]), ageDays);
      const r = rng.next();
      const dur = videos.durationMs[j];
      const i = out.n++;
      out.user[i] = u;
      out.video[i] = j;
      out.seq[i] = s++;
      if (r < p * 0.5) {
        out.type[i] = 0;
        out.watchMs[i] = dur;
      } else if (r < p) {
        out.type[i] = 1;
        out.watchMs[i] = Math.max(1000, Math.round(dur * Math.min(1, 0.2 + p)));
      } else {
        out.type[i] = 2;
        out.watchMs[i] = 200 + rng.int(1800);
      }
      // Within the last 14 days, and never before the video existed.
      out.tsMs[i] = nowMs - rng.next() * Math.min(14 * DAY, nowMs - videos.createdMs[j]);
    }
  }
  return out;
}
