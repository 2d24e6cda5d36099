import { ApiError } from "../../shared/errors.ts";
import { type Chain, listChain } from "../chains.ts";
import type { FeedContext } from "./context.ts";
import { ANON } from "./anonymous.ts";

// Source for a cache-only policy (level 3, database degraded; also a shed or rescued request): nothing
// from Postgres or ranking. The user's cached recommendations (≤ the policy's max age), else the
// long-lived Redis copy of regional trending. Throws a 503 ApiError when neither is there (the edge then
// answers from its own caches or another region).

export async function cacheOnlyChain(ctx: FeedContext, userKey: string): Promise<Chain> {
  const { chains, catalog } = ctx.stores;
  if (userKey !== ANON) {
    const cached = await chains.cachedRecommendations(userKey, ctx.policy.cachedRecommendationMaxAgeMs);
    if (cached) return cached;
  }
  const ids = await catalog.cachedTrending().catch(() => null);
  if (!ids?.length) throw new ApiError(503, "unavailable", "database degraded and nothing cached for this request");
  return listChain(userKey, "trending", ids, ctx.now());
}
