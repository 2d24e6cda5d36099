import { CANDIDATES } from "../../shared/config.ts";
import { type Chain, listChain } from "../chains.ts";
import type { FeedContext } from "./context.ts";

// Source: the anonymous feed (and a signed-in user the database does not know): regional trending, best
// first. One chain per region and time bucket, shared by every anonymous reader (origin/feed/pipeline.ts).
// Throws what the catalogue throws (database trouble); the pipeline then answers from cache.

export const ANON = "anon";

export async function anonymousChain(ctx: FeedContext): Promise<Chain> {
  const ids = await ctx.timings.time("candidates", () => ctx.stores.catalog.trending(CANDIDATES.chainLength));
  return listChain(ANON, "trending", ids, ctx.now());
}
