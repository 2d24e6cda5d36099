import { CANDIDATES } from "../../shared/config.ts";
import { type Chain, listChain } from "../chains.ts";
import type { UserFeatures } from "../feature-store.ts";
import type { FeedContext } from "./context.ts";

// Source when ranking cannot answer (breaker open, timeouts, errors, ranking off), in DESIGN §3's order:
// cached recommendations (≤ 1 h old; skipped when the policy keeps off Redis) → regional trending →
// recent videos of followed authors. The user's recent videos are left out of the last two. Throws only
// when the last one does (database failure): the pipeline then answers from cache.

export async function fallbackChain(ctx: FeedContext, user: UserFeatures, userKey: string, why: string): Promise<Chain> {
  const { policy, stores } = ctx;
  ctx.timings.add("fallback", 1);
  ctx.warn(`ranking unavailable for ${userKey} (${why}); serving a fallback`);
  if (policy.useRedis) {
    const cached = await stores.chains.cachedRecommendations(userKey, policy.cachedRecommendationMaxAgeMs);
    if (cached) return cached;
  }
  const exclude = new Set(user.recent);
  const fresh = (ids: string[]) => ids.filter((id) => !exclude.has(id));
  try {
    const ids = fresh(await stores.catalog.trending(CANDIDATES.chainLength));
    if (ids.length) return listChain(userKey, "trending", ids, ctx.now());
  } catch {
    /* next fallback */
  }
  return listChain(userKey, "following", fresh(await stores.catalog.following(user, CANDIDATES.chainLength)), ctx.now());
}
