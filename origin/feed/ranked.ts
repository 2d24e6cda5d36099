import { CANDIDATES } from "../../shared/config.ts";
import type { Reason } from "../../shared/contract.ts";
import type { Chain, ChainEntry } from "../chains.ts";
import type { UserFeatures } from "../feature-store.ts";
import type { RankOutput } from "../ranking-client.ts";
import type { FeedContext } from "./context.ts";
import { fallbackChain } from "./fallback.ts";

// Source: a signed-in user's ranked chain, as the request's policy says (shared/degradation.ts):
//  - cached recommendations first when the policy prefers them (level 1) — unless the breaker is
//    half-open: then this request is one of its trial calls (a user base that all has cached
//    recommendations would otherwise never give it a trial, and it would never close);
//  - candidates: the policy's pool (5K, 1K from level 1) and source mix; "similar" from the user's
//    embedding, or content-based from the topics of their recent videos (level 2);
//  - ranking by candidate ids through the breaker + ML retry policy: the ranking service gathers the video
//    features from its own feature table (origin/ranking-client.ts rankByIds; issue 13), so the origin
//    reads no video features here, only the user's;
//  - when ranking cannot answer: the fallbacks (origin/feed/fallback.ts).
// The explore sample is seeded by the chain id, so a page recomputed without Redis draws the same one.
// Throws what candidates/features throw (database trouble); ranking failures never escape.

/** A 31-bit seed from a chain id (FNV-1a): the same id always gives the same explore sample. */
export function exploreSeed(chainId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < chainId.length; i++) h = Math.imul(h ^ chainId.charCodeAt(i), 0x01000193);
  return (h >>> 0) & 0x7fffffff;
}

export async function rankedChain(ctx: FeedContext, user: UserFeatures, userKey: string, chainId: string): Promise<Chain> {
  const { policy, stores, timings } = ctx;
  if (policy.preferCachedRecommendations && policy.useRedis && !stores.ranker.wantsTrial()) {
    const cached = await stores.chains.cachedRecommendations(userKey, policy.cachedRecommendationMaxAgeMs);
    if (cached) return cached;
  }
  if (!policy.callRanking) return fallbackChain(ctx, user, userKey, "ranking is off at this level");
  const cands = await timings.time("candidates", () =>
    stores.catalog.candidates(user, {
      pool: policy.candidatePool, mix: policy.mix, contentBased: policy.contentBased, exclude: new Set(user.recent), exploreSeed: exploreSeed(chainId),
    }),
  );
  const ids = [...cands.keys()];
  const now = ctx.now();
  let ranked: RankOutput;
  try {
    ranked = await timings.time("rank", () =>
      stores.ranker.rank({ userId: userKey, userEmb: user.emb, ids, followees: user.followees, topK: CANDIDATES.chainLength }),
    );
  } catch (e) {
    return fallbackChain(ctx, user, userKey, (e as Error).message);
  }
  const items: ChainEntry[] = ranked.items.map((r) => [String(r.id), r.score, (cands.get(String(r.id)) ?? "explore") as Reason]);
  return { u: userKey, mv: ranked.modelVersion, src: "origin", at: now, items };
}
