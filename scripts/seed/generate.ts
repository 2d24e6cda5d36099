// The synthetic catalogue: users, videos and follows with structure a ranking model can learn.
//  - K = 16 latent topics, each a random unit centroid in the 16-d embedding space.
//  - Videos sit near their topic's centroid; users mix 1–3 topic centroids. dot(user, video) is therefore
//    high exactly when the video is on one of the user's topics — the signal the hidden engagement
//    function (interactions.ts) rewards most.
//  - Creators are users; videos per creator follow a power law, popularity a Zipf law by rank.
//  - Follows go mostly to big creators (weight ∝ their total popularity), half of them on-topic.
// Ids: user i ↔ user_id i+1, video j ↔ video_id j+1 (dense, so tools can address users by number).
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import type { Region } from "../../shared/local-ports.ts";
import { WeightedSampler, createRng, groupBy, noisyUnit, type Rng } from "./sampling.ts";

export const TOPICS = 16;
export const TOPIC_NAMES = [
  "comedy", "dance", "food", "travel", "music", "pets", "sports", "gaming",
  "fashion", "beauty", "tech", "diy", "fitness", "art", "science", "nature",
] as const;
export const REGION_CODES: readonly Region[] = ["us", "eu", "apac"];
const REGION_WEIGHTS = [0.45, 0.3, 0.25];
export const STATUS_CODES = ["active", "removed", "blocked"] as const;
export const ZIPF_S = 1.1;
const DAY = 86_400_000;

export interface SeedParams {
  users: number;
  videos: number;
  interactionsPerUser: number;
  seed: number;
}

export interface Catalogue {
  params: SeedParams;
  nowMs: number;
  centroids: Float32Array; // TOPICS × DIM
  users: {
    n: number;
    region: Uint8Array; // index into REGION_CODES
    emb: Float32Array; // n × DIM, unit
    topicStart: Uint32Array; // CSR: the user's topics are topicList[topicStart[i] … topicStart[i+1])
    topicList: Uint8Array;
    createdMs: Float64Array;
  };
  videos: {
    n: number;
    author: Uint32Array; // user index
    topic: Uint8Array;
    emb: Float32Array; // n × DIM, unit
    popularity: Float32Array; // rank^-s, top video = 1
    views: Float64Array;
    likes: Float64Array;
    durationMs: Uint32Array;
    status: Uint8Array; // index into STATUS_CODES
    createdMs: Float64Array;
  };
  creators: Uint32Array; // user indexes of users with ≥ 1 video
  follows: { follower: Uint32Array; followee: Uint32Array; createdMs: Float64Array };
}

function pickRegion(rng: Rng): number {
  const x = rng.next();
  return x < REGION_WEIGHTS[0] ? 0 : x < REGION_WEIGHTS[0] + REGION_WEIGHTS[1] ? 1 : 2;
}

function makeUsers(p: SeedParams, rng: Rng, centroids: Float32Array, topicWeights: WeightedSampler, nowMs: number): Catalogue["users"] {
  const n = p.users;
  const region = new Uint8Array(n);
  const emb = new Float32Array(n * EMBEDDING_DIM);
  const topicStart = new Uint32Array(n + 1);
  const topicList: number[] = [];
  const createdMs = new Float64Array(n);
  const mix = new Float32Array(EMBEDDING_DIM);
  for (let i = 0; i < n; i++) {
    region[i] = pickRegion(rng);
    const x = rng.next();
    const k = x < 0.5 ? 1 : x < 0.85 ? 2 : 3;
    const mine: number[] = [];
    while (mine.length < k) {
      const t = topicWeights.sample(rng);
      if (!mine.includes(t)) mine.push(t);
    }
    mix.fill(0);
    for (const t of mine) {
      const w = 0.4 + rng.next(); // uneven interest in each of the user's topics
      for (let d = 0; d < EMBEDDING_DIM; d++) mix[d] += w * centroids[t * EMBEDDING_DIM + d];
    }
    let norm = 0;
    for (let d = 0; d < EMBEDDING_DIM; d++) norm += mix[d] * mix[d];
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < EMBEDDING_DIM; d++) mix[d] /= norm;
    noisyUnit(mix, 0.2, rng, emb, i * EMBEDDING_DIM, EMBEDDING_DIM);
    topicList.push(...mine);
    topicStart[i + 1] = topicList.length;
    createdMs[i] = nowMs - (30 + rng.next() * 335) * DAY;
  }
  return { n, region, emb, topicStart, topicList: Uint8Array.from(topicList), createdMs };
}

function makeVideos(p: SeedParams, rng: Rng, centroids: Float32Array, users: Catalogue["users"], nowMs: number) {
  const n = p.videos;
  // ~10% of users create; videos per creator ∝ 1/rank^0.9 (a few prolific creators, a long tail).
  const nCreators = Math.max(1, Math.min(users.n, Math.round(users.n * 0.1)));
  const perm = Uint32Array.from({ length: users.n }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const creatorPool = perm.slice(0, nCreators);
  const creatorPick = new WeightedSampler(Array.from({ length: nCreators }, (_, r) => 1 / Math.pow(r + 1, 0.9)));
  // Zipf popularity by rank; ranks are a random permutation so popularity is independent of id.
  const rank = Uint32Array.from({ length: n }, (_, i) => i + 1);
  for (let i = rank.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rank[i], rank[j]] = [rank[j], rank[i]];
  }
  const v: Catalogue["videos"] = {
    n,
    author: new Uint32Array(n),
    topic: new Uint8Array(n),
    emb: new Float32Array(n * EMBEDDING_DIM),
    popularity: new Float32Array(n),
    views: new Float64Array(n),
    likes: new Float64Array(n),
    durationMs: new Uint32Array(n),
    status: new Uint8Array(n),
    createdMs: new Float64Array(n),
  };
  for (let j = 0; j < n; j++) {
    const a = creatorPool[creatorPick.sample(rng)];
    v.author[j] = a;
    // Creators mostly stay on their own topics, which makes follows informative.
    const t0 = users.topicStart[a], t1 = users.topicStart[a + 1];
    v.topic[j] = rng.next() < 0.8 ? users.topicList[t0 + rng.int(t1 - t0)] : rng.int(TOPICS);
    noisyUnit(centroids.subarray(v.topic[j] * EMBEDDING_DIM), 0.25, rng, v.emb, j * EMBEDDING_DIM, EMBEDDING_DIM);
    const pop = 1 / Math.pow(rank[j], ZIPF_S);
    v.popularity[j] = pop;
    v.views[j] = Math.round(2_000_000 * pop * (0.75 + 0.5 * rng.next())) + rng.int(50);
    v.likes[j] = Math.round(v.views[j] * (0.02 + 0.1 * rng.next()));
    v.durationMs[j] = 5000 + rng.int(55_000);
    const s = rng.next();
    v.status[j] = s < 0.007 ? 1 : s < 0.01 ? 2 : 0;
    v.createdMs[j] = nowMs - rng.next() * 30 * DAY;
  }
  return v;
}

function makeFollows(rng: Rng, users: Catalogue["users"], videos: Catalogue["videos"], nowMs: number) {
  // A creator's pull = total popularity of their videos; followers ∝ pull^0.8 (power law).
  const pull = new Float64Array(users.n);
  for (let j = 0; j < videos.n; j++) pull[videos.author[j]] += videos.popularity[j];
  const creators = Uint32Array.from(pull.keys()).filter((u) => pull[u] > 0);
  const weight = Array.from(creators, (u) => Math.pow(pull[u], 0.8));
  const global = new WeightedSampler(weight);
  // Per topic: the creators whose first (main) topic it is, same weights.
  const mainTopic = Array.from(creators, (u) => users.topicList[users.topicStart[u]]);
  const byTopic = groupBy(mainTopic, TOPICS);
  const topical = Array.from({ length: TOPICS }, (_, t) => {
    const idx = byTopic.items.subarray(byTopic.start[t], byTopic.start[t + 1]);
    return { idx, sampler: new WeightedSampler(Array.from(idx, (c) => weight[c])) };
  });
  const follower: number[] = [], followee: number[] = [], createdMs: number[] = [];
  const mine = new Set<number>();
  for (let u = 0; u < users.n; u++) {
    const want = Math.min(Math.floor(5 * Math.pow(10, rng.next())), creators.length - (pull[u] > 0 ? 1 : 0));
    mine.clear();
    for (let tries = 0; mine.size < want && tries < want * 20; tries++) {
      let c = -1;
      if (rng.next() < 0.5) {
        const t0 = users.topicStart[u], t1 = users.topicStart[u + 1];
        const tp = topical[users.topicList[t0 + rng.int(t1 - t0)]];
        const k = tp.sampler.sample(rng);
        if (k >= 0) c = tp.idx[k];
      }
      if (c < 0) c = global.sample(rng);
      const target = creators[c];
      if (target === u || mine.has(target)) continue;
      mine.add(target);
      follower.push(u);
      followee.push(target);
      createdMs.push(nowMs - rng.next() * 60 * DAY);
    }
  }
  return {
    creators,
    follows: { follower: Uint32Array.from(follower), followee: Uint32Array.from(followee), createdMs: Float64Array.from(createdMs) },
  };
}

/** Users, videos and follows for these parameters. Same params (and nowMs) → identical output. */
export function generateCatalogue(params: SeedParams, nowMs: number): Catalogue {
  const rng = createRng(params.seed);
  const centroids = new Float32Array(TOPICS * EMBEDDING_DIM);
  for (let t = 0; t < TOPICS; t++) noisyUnit(new Float32Array(EMBEDDING_DIM), 1, rng, centroids, t * EMBEDDING_DIM, EMBEDDING_DIM);
  // Mildly uneven topic interest (comedy ≈ 2.4× nature).
  const topicWeights = new WeightedSampler(Array.from({ length: TOPICS }, (_, t) => 1 / Math.pow(t + 1, 0.3)));
  const users = makeUsers(params, rng, centroids, topicWeights, nowMs);
  const videos = makeVideos(params, rng, centroids, users, nowMs);
  const { creators, follows } = makeFollows(rng, users, videos, nowMs);
  return { params, nowMs, centroids, users, videos, creators, follows };
}
