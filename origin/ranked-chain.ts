import { CANDIDATES, RETRY } from "../shared/config.ts";
import type { Reason } from "../shared/contract.ts";
import { EMBEDDING_DIM } from "../shared/db/schema.ts";
import { CTX_DIM } from "../shared/rank-contract.ts";
import { generateCandidates, followingIds, trendingIds } from "./candidates.ts";
import { type Chain, type ChainEntry, cachedRecommendations } from "./chains.ts";
import type { RequestDeps } from "./context.ts";
import { FeatureStore, type UserFeatures } from "./feature-store.ts";
import { writeContext } from "./feed-items.ts";
import { rank, rankStep, type RankOutput } from "./ranking-client.ts";

// A user's ranked chain: candidates → features → ranking service through the circuit breaker with the
// seed's ML retry policy. When ranking cannot answer (breaker open, errors, timeouts) the fallbacks run
// in the design's order: cached recommendations (≤ 1 h) → trending → recent videos of followed authors.
export async function timed<T>(t: Record<string, number>, name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    t[name] = (t[name] ?? 0) + (performance.now() - t0);
  }
}

/** Ranking call: the breaker around each try, retried per the seed's ML policy (1 retry, 20 ms ± 20%);
 * an open breaker is not retried (shared/retry.ts), that is its point, nor is a permanent RankingError
 * (the service refused the request itself, e.g. a 400): that goes straight to the fallback. The ML latency
 * signal gets one sample per ranking step, tries and backoff included, a timed-out try at its elapsed
 * time (origin/signals.ts); a step the breaker refused before any try reached the service is no sample. */
function rankGuarded(d: RequestDeps, input: Parameters<typeof rank>[1]): Promise<RankOutput> {
  const timeoutMs = d.cfg.RANK_TIMEOUT_MS ?? RETRY.mlInference.perTryTimeoutMs;
  const policy = { ...RETRY.mlInference, perTryTimeoutMs: timeoutMs };
  return rankStep(d.signals.ml, d.signals.breaker, policy, () => rank(d.cfg.RANKING_URL, input, timeoutMs, d.cfg.INTERNAL_SECRET));
}

async function fallbackChain(d: RequestDeps, user: UserFeatures, userKey: string, why: string): Promise<Chain> {
  d.timings.fallback = 1;
  console.warn(`ranking unavailable for ${userKey} (${why}); serving a fallback`);
  const cached = await cachedRecommendations(d.redis, userKey);
  if (cached) return cached;
  const now = Date.now();
  const exclude = new Set(user.recent);
  try {
    const ids = (await trendingIds(d.db, d.redis, d.cfg.REGION, CANDIDATES.chainLength)).filter((id) => !exclude.has(id));
    if (ids.length) return { u: userKey, mv: null, src: "trending", at: now, items: ids.map((id, i) => [id, 1 - i / ids.length, "trending"]) };
  } catch {
    /* next fallback */
  }
  const ids = (await followingIds(d.db, user, CANDIDATES.chainLength)).filter((id) => !exclude.has(id));
  return { u: userKey, mv: null, src: "following", at: now, items: ids.map((id, i) => [id, 1 - i / (ids.length || 1), "following"]) };
}

export async function rankedChain(d: RequestDeps, user: UserFeatures, userKey: string, level: number): Promise<Chain> {
  // ML degraded: cached recommendations first, ranking a smaller pool only when there are none. Not while
  // the breaker is half-open: then this request is one of its trial calls. Served from cache, a user
  // base that all has cached recommendations would never give it a trial, and it would never close.
  if (level === 1 && d.signals.breaker.state !== "HALF_OPEN") {
    const cached = await cachedRecommendations(d.redis, userKey);
    if (cached) return cached;
  }
  const pool = level >= 1 ? CANDIDATES.degradedPool : CANDIDATES.normalPool;
  const cands = await timed(d.timings, "candidates", () =>
    generateCandidates(d.db, d.redis, user, { pool, region: d.cfg.REGION, exclude: new Set(user.recent), deterministic: level >= 2 }),
  );
  const ids = [...cands.keys()];
  const fs = new FeatureStore(d.redis, d.db, d.metrics, d.signals.redis, level >= 2);
  const { values } = await timed(d.timings, "features", () => fs.videos(ids));
  const present = ids.filter((id) => values.has(id));
  const followees = new Set(user.followees);
  const embeddings = new Float32Array(present.length * EMBEDDING_DIM);
  const ctx = new Float32Array(present.length * CTX_DIM);
  const now = Date.now();
  present.forEach((id, i) => {
    const v = values.get(id)!;
    embeddings.set(v.emb, i * EMBEDDING_DIM);
    writeContext(v, followees.has(v.author), now, ctx, i);
  });
  let ranked: RankOutput;
  try {
    ranked = await timed(d.timings, "rank", () =>
      rankGuarded(d, { userId: userKey, userEmb: user.emb, ids: present, embeddings, ctx, topK: CANDIDATES.chainLength }),
    );
  } catch (e) {
    return fallbackChain(d, user, userKey, (e as Error).message);
  }
  const items: ChainEntry[] = ranked.items.map((r) => [String(r.id), r.score, (cands.get(String(r.id)) ?? "explore") as Reason]);
  return { u: userKey, mv: ranked.modelVersion, src: "origin", at: now, items };
}
