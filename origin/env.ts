import { z } from "zod";
import { RegionSchema } from "../shared/regions.ts";
import { originRetry, useIsolateRetry } from "./retry-policy.ts";

// Bindings and vars of a regional origin worker, typed once. wrangler.toml sets the production values;
// `npm start` overrides them with loopback endpoints through `wrangler dev --var`.
export interface OriginBindings {
  REGION: string;
  DATABASE_URL: string;
  /** host:port of a WebSocket→TCP proxy for the Neon driver (local only; unset on Neon). */
  NEON_WS_PROXY?: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  RANKING_URL: string;
  INTERNAL_SECRET: string;
  CURSOR_SECRET?: string;
  MEDIA_BASE_URL?: string;
  FORCED_LEVEL?: string;
  /** Per-try timeout of ranking calls (ms); default = the seed's ML inference policy (40 ms). */
  RANK_TIMEOUT_MS?: string;
  /** Span of the latency windows behind the ML and database levels (ms); default 60 s (origin/dependency-health.ts). */
  LEVEL_WINDOW_MS?: string;
  /** Period of this region's replication heartbeat (ms); lag allows one period between beats. */
  REPLICATION_HEARTBEAT_MS?: string;
  /** Database p99 (ms) above which the origin goes to level 3; default the seed's 100 ms. Only the shared
   * e2e stack raises it (a 2-core box running ~10 processes is over 100 ms at p99 from the start); the
   * production-values e2e (test/e2e/production-levels.test.ts) runs its origin at the default. */
  LEVEL_DB_P99_MS?: string;
  /** Per-try timeout of Redis feature reads (ms, ≤ 150: the Redis client's own cut, origin/redis.ts); default
   * the seed's feature-store row (5 ms). For slow local boxes only (the local stack sets 50: README). */
  RETRY_FEATURE_STORE_TRY_MS?: string;
  /** Per-try timeout of Postgres reads (ms, ≤ 500: what the edge's wait for an events write covers,
   * edge/origin-client.ts); default the seed's DB read row (100 ms). For slow local boxes only. */
  RETRY_DB_READ_TRY_MS?: string;
}

const OriginConfigSchema = z.object({
  REGION: RegionSchema,
  DATABASE_URL: z.string().min(1),
  NEON_WS_PROXY: z.string().optional(),
  UPSTASH_REDIS_REST_URL: z.url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  RANKING_URL: z.url(),
  INTERNAL_SECRET: z.string().min(8),
  CURSOR_SECRET: z.string().optional(),
  MEDIA_BASE_URL: z.string().default("https://media.fyp-edge.example"),
  RANK_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).optional(),
  LEVEL_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).optional(),
  LEVEL_DB_P99_MS: z.coerce.number().int().min(1).max(60_000).optional(),
  REPLICATION_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  RETRY_FEATURE_STORE_TRY_MS: z.coerce.number().int().min(1).max(150).optional(),
  RETRY_DB_READ_TRY_MS: z.coerce.number().int().min(1).max(500).optional(),
});
export type OriginConfig = z.infer<typeof OriginConfigSchema> & { cursorSecret: string };

let cached: { raw: OriginBindings; cfg: OriginConfig } | null = null;

/**
 * Parse once per isolate; a misconfigured deployment fails loudly at its first request. Also publishes the
 * isolate's retry rows (origin/retry-policy.ts) with the RETRY_*_TRY_MS overrides, if any.
 */
export function originConfig(env: OriginBindings): OriginConfig {
  if (cached && cached.raw === env) return cached.cfg;
  const parsed = OriginConfigSchema.parse(env);
  const cfg = { ...parsed, cursorSecret: parsed.CURSOR_SECRET ?? parsed.INTERNAL_SECRET };
  useIsolateRetry(originRetry({ featureStoreTryMs: parsed.RETRY_FEATURE_STORE_TRY_MS, dbReadTryMs: parsed.RETRY_DB_READ_TRY_MS }));
  cached = { raw: env, cfg };
  return cfg;
}
