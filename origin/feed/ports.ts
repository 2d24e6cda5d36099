import type { LevelPolicy, SourceMix } from "../../shared/degradation.ts";
import type { Candidates } from "../candidates.ts";
import type { Chain } from "../chains.ts";
import type { UserFeatures, VideoFeatures } from "../feature-store.ts";
import type { LiveCounts } from "../live-stats.ts";
import type { RankInput, RankOutput } from "../ranking-client.ts";

// What the feed pipeline needs from the outside world, as four small interfaces. origin/feed/stores.ts
// implements them over Redis, Postgres and the ranking service for one request; unit tests implement them
// in memory (test/support/feed-memory.ts), so every level's behaviour is tested without servers, while
// integration and e2e tests run the real ones. Failure semantics are part of each contract.

/** Feed chains and cached recommendations (Redis). Never throws: a Redis failure reads as a miss. */
export interface ChainStore {
  load(id: string): Promise<Chain | null>;
  /** Stores a chain for its cursor pages (TTL: TTL.appFeedFallback); false when it could not. */
  store(id: string, chain: Chain): Promise<boolean>;
  /** The user's latest ranked chain, relabelled `cached`, if it is at most `maxAgeMs` old; else null. */
  cachedRecommendations(user: string, maxAgeMs: number): Promise<Chain | null>;
}

/** What the candidate step is asked for, all taken from the level policy. */
export interface CandidatePlan {
  pool: number;
  mix: SourceMix;
  /** "similar" from the topics of the user's recent videos instead of their embedding. */
  contentBased: boolean;
  exclude: Set<string>;
  /** Same seed, same explore sample (pages recomputed without Redis). */
  exploreSeed: number;
}

/** Candidate sources over the catalogue (Postgres, with Redis-cached lists). Throws on a database failure. */
export interface CatalogStore {
  /** Regional trending, best first, at most `limit` ids. */
  trending(limit: number): Promise<string[]>;
  /** The long-lived Redis copy of trending (level 3: no Postgres); null when none. Throws when Redis fails. */
  cachedTrending(): Promise<string[] | null>;
  /** Recent videos of the authors the user follows, newest first. */
  following(user: UserFeatures, limit: number): Promise<string[]>;
  candidates(user: UserFeatures, plan: CandidatePlan): Promise<Candidates>;
}

/** Features through the request's one FeatureStore, in the mode its policy chose (origin/feature-store.ts). */
export interface FeatureSource {
  /** null for an unknown user. Throws when the mode's source fails. */
  user(id: string): Promise<UserFeatures | null>;
  /** Features of the ids that exist (absent ids are left out). Throws when the mode's source fails. */
  videos(ids: string[]): Promise<Map<string, VideoFeatures>>;
  /** Redis only, whatever the mode. Throws when Redis fails. */
  cachedVideos(ids: string[]): Promise<Map<string, VideoFeatures>>;
  /** Live view/like counts of `ids` for the items' stats (origin/live-stats.ts readSharedLiveCounts): the
   * region's shared merged rows and the unflushed deltas in one Redis read, a missing row refreshed from
   * Postgres after the response (not when the policy is cache-only); without Redis (level 2) the Postgres
   * row. Absent = the features' own counts. Never throws. */
  liveCounts?(ids: string[], policy: Pick<LevelPolicy, "cacheOnly" | "useRedis">): Promise<LiveCounts>;
}

/** The ranking step: the service behind its breaker and the seed's ML retry policy. */
export interface Ranker {
  /** True while the breaker is half-open: this request should be one of its trial calls. */
  wantsTrial(): boolean;
  /** Throws when ranking cannot answer (breaker open, timeouts, errors, a permanent refusal). */
  rank(input: RankInput): Promise<RankOutput>;
}

export interface FeedStores {
  chains: ChainStore;
  catalog: CatalogStore;
  features: FeatureSource;
  ranker: Ranker;
}
