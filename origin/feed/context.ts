import { levelPolicy, type LevelPolicy } from "../../shared/degradation.ts";
import type { Region } from "../../shared/regions.ts";
import type { Timings } from "../context.ts";
import type { LevelReport } from "../signals.ts";
import type { FeedStores } from "./ports.ts";

// One feed request's context, built once by the route (origin/feed/route.ts) and handed to every step:
// the level policy decided from the live signals at the start of the request, the stores (one
// FeatureStore, in the policy's mode), the timings, metrics and a clock. No step reads the signals again
// or compares level numbers: each reads the policy's fields.

export interface FeedContext {
  region: Region;
  policy: Readonly<LevelPolicy>;
  stores: FeedStores;
  timings: Timings;
  /** App-cache hit/miss counts (fyp_cache_requests_total{tier="app"}). */
  countAppCache(result: "hit" | "miss"): void;
  /** Secret that signs cursors (origin/cursor.ts). */
  cursorSecret: string;
  now(): number;
  /** A fresh chain id for a signed-in user's first page. */
  newChainId(): string;
  warn(msg: string): void;
}

/** The row a request falls back to when it cannot be served as its level says: level 3, cache only. */
export const RESCUE_POLICY = levelPolicy(3);

/**
 * The level a request is served at: what the origin's signals report (a forced level included; origin
 * levels are 0–3), or cache-only when the bulkhead shed the request (origin/bulkhead.ts). Pure.
 */
export function requestPolicy(report: Pick<LevelReport, "level">, shed: boolean): Readonly<LevelPolicy> {
  return shed ? RESCUE_POLICY : levelPolicy(report.level);
}
