import type { Reason } from "../../shared/contract.ts";
import { EMBEDDING_DIM } from "../../shared/db/schema.ts";
import { levelPolicy, type DegradationLevel, type LevelPolicy } from "../../shared/degradation.ts";
import type { Candidates } from "../../origin/candidates.ts";
import type { Chain } from "../../origin/chains.ts";
import { Timings } from "../../origin/context.ts";
import type { UserFeatures, VideoFeatures } from "../../origin/feature-store.ts";
import type { FeedContext } from "../../origin/feed/context.ts";
import type { CandidatePlan, FeedStores } from "../../origin/feed/ports.ts";
import type { RankInput } from "../../origin/ranking-client.ts";

// In-memory adapters of origin/feed/ports.ts for unit tests of the feed pipeline (test-only: product code
// never imports this). One `MemoryWorld` plays Postgres (videos, users, trending, follows), Redis (chains,
// cached features, cached trending) and the ranking service; switches make each of them fail, and every
// call is counted per backend so a test can assert what a level did not touch. `failing` breaks single
// calls ("catalog.trending") while the rest of their backend answers: one query's database error.

export const NOW = Date.UTC(2025, 0, 15, 12);

export function video(id: number, over: Partial<VideoFeatures> = {}): VideoFeatures {
  const emb = new Float32Array(EMBEDDING_DIM);
  emb[id % EMBEDDING_DIM] = 1;
  return { id: String(id), author: String(1000 + (id % 7)), emb, views: 1000 - id, likes: 10, createdMs: NOW - id * 60_000, durationMs: 15_000, caption: `v${id}`, region: "us", ...over };
}

export function user(id: string, over: Partial<UserFeatures> = {}): UserFeatures {
  return { id, emb: new Float32Array(EMBEDDING_DIM).fill(0.25), homeRegion: "us", followees: ["1001", "1002"], recent: [], ...over };
}

export interface MemoryWorld {
  /** "Postgres". */
  videos: Map<string, VideoFeatures>;
  users: Map<string, UserFeatures>;
  trending: string[];
  /** "Redis". */
  cachedVideos: Map<string, VideoFeatures>;
  chains: Map<string, Chain>;
  lastChain: Map<string, string>;
  cachedTrending: string[] | null;
  down: { postgres: boolean; redis: boolean; ranking: boolean };
  /** Store calls that throw a database error of their own while their backend is up. */
  failing: Set<FailingCall>;
  halfOpen: boolean;
  /** Calls per backend, and the candidate plans asked for. */
  calls: { postgres: number; redis: number; ranking: number };
  plans: CandidatePlan[];
  rankInputs: RankInput[];
}

/** The Postgres-backed calls that `failing` can break one by one. */
export type FailingCall = "catalog.trending" | "catalog.following" | "catalog.candidates" | "features.user" | "features.videos";

export function memoryWorld(n = 300): MemoryWorld {
  const videos = new Map<string, VideoFeatures>();
  for (let i = 1; i <= n; i++) videos.set(String(i), video(i));
  return {
    videos, users: new Map(), trending: [...videos.keys()].slice(0, 100),
    cachedVideos: new Map(videos), chains: new Map(), lastChain: new Map(), cachedTrending: [...videos.keys()].slice(0, 50),
    down: { postgres: false, redis: false, ranking: false }, failing: new Set(), halfOpen: false,
    calls: { postgres: 0, redis: 0, ranking: 0 }, plans: [], rankInputs: [],
  };
}

/** A deterministic score in [0, 1) for a video id: the memory ranker's model. */
export const memoryScore = (id: string) => ((Number(id) * 2654435761) % 1000) / 1000;

function backend(w: MemoryWorld, name: keyof MemoryWorld["down"], call?: FailingCall): void {
  w.calls[name]++;
  if (w.down[name]) throw new Error(`${name} down`);
  if (call && w.failing.has(call)) throw new Error(`${call}: database error (canceling statement due to statement timeout)`);
}

/** Stores over `w`. `featureUser` maps a stored user as the request's feature mode would (default: as is). */
export function memoryStores(w: MemoryWorld, featureUser: (u: UserFeatures) => UserFeatures = (u) => u): FeedStores {
  const take = (ids: string[], limit: number) => ids.slice(0, limit);
  return {
    chains: {
      async load(id) {
        try {
          backend(w, "redis");
        } catch {
          return null;
        }
        return w.chains.get(id) ?? null;
      },
      async store(id, chain) {
        try {
          backend(w, "redis");
        } catch {
          return false;
        }
        w.chains.set(id, chain);
        if (chain.u !== "anon" && chain.src === "origin") w.lastChain.set(chain.u, id);
        return true;
      },
      async cachedRecommendations(u, maxAgeMs) {
        try {
          backend(w, "redis");
        } catch {
          return null;
        }
        const chain = w.chains.get(w.lastChain.get(u) ?? "");
        if (!chain || NOW - chain.at > maxAgeMs) return null;
        return { ...chain, src: "cached", items: chain.items.map(([v, s]) => [v, s, "cached"]) };
      },
    },
    catalog: {
      async trending(limit) {
        backend(w, "postgres", "catalog.trending");
        return take(w.trending, limit);
      },
      async cachedTrending() {
        backend(w, "redis");
        return w.cachedTrending;
      },
      async following(u, limit) {
        backend(w, "postgres", "catalog.following");
        const f = new Set(u.followees);
        return take([...w.videos.values()].filter((v) => f.has(v.author)).sort((a, b) => b.createdMs - a.createdMs).map((v) => v.id), limit);
      },
      async candidates(u, plan) {
        backend(w, "postgres", "catalog.candidates");
        w.plans.push(plan);
        const out: Candidates = new Map();
        const all = [...w.videos.keys()].filter((id) => !plan.exclude.has(id));
        const add = (ids: string[], share: number, reason: Reason) => {
          for (const id of ids.slice(0, Math.max(1, Math.round(share * plan.pool)))) if (out.size < plan.pool && !out.has(id)) out.set(id, reason);
        };
        add(all.filter((id) => u.followees.includes(w.videos.get(id)!.author)), plan.mix.following, "following");
        add(all.filter((id) => Number(id) % 3 === 0), plan.mix.similar, "similar");
        add(w.trending.filter((id) => !plan.exclude.has(id)), plan.mix.trending, "trending");
        // Explore: a sample that depends on the seed only.
        add([...all].sort((a, b) => ((Number(a) * plan.exploreSeed) % 997) - ((Number(b) * plan.exploreSeed) % 997)), plan.mix.explore, "explore");
        return out;
      },
    },
    features: {
      async user(id) {
        backend(w, "postgres", "features.user");
        const u = w.users.get(id);
        return u ? featureUser(u) : null;
      },
      async videos(ids) {
        backend(w, "postgres", "features.videos");
        return new Map(ids.filter((id) => w.videos.has(id)).map((id) => [id, w.videos.get(id)!]));
      },
      async cachedVideos(ids) {
        backend(w, "redis");
        return new Map(ids.filter((id) => w.cachedVideos.has(id)).map((id) => [id, w.cachedVideos.get(id)!]));
      },
    },
    ranker: {
      wantsTrial: () => w.halfOpen,
      async rank(input) {
        backend(w, "ranking");
        w.rankInputs.push(input);
        const items = input.ids.map((id) => ({ id, score: memoryScore(id) })).sort((a, b) => b.score - a.score || Number(a.id) - Number(b.id));
        return { modelVersion: "mem-1", items: items.slice(0, input.topK), dropped: [] };
      },
    },
  };
}

/** A feed context at `level` (or an explicit policy) over `w`. */
export function memoryContext(w: MemoryWorld, level: DegradationLevel | Readonly<LevelPolicy>, opts: { featureUser?: (u: UserFeatures) => UserFeatures; warnings?: string[] } = {}): FeedContext {
  let next = 0;
  return {
    region: "us", policy: typeof level === "number" ? levelPolicy(level) : level, stores: memoryStores(w, opts.featureUser), timings: new Timings(),
    countAppCache: () => {}, cursorSecret: "test-cursor-secret", now: () => NOW, newChainId: () => `chain-${++next}`,
    warn: (m) => opts.warnings?.push(m),
  };
}
