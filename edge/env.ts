import type { DurableObjectNamespace, Fetcher, KVNamespace, Queue } from "@cloudflare/workers-types";
import { z } from "zod";
import { RegionSchema, type Region } from "../shared/regions.ts";
import { SESSION_DEFAULTS } from "../shared/auth.ts";

// Bindings and vars of the edge worker, typed once.
export interface EdgeBindings {
  SESSION_SECRET: string;
  ADMIN_TOKEN: string;
  INTERNAL_SECRET: string;
  ORIGIN_US_URL: string;
  ORIGIN_EU_URL: string;
  ORIGIN_APAC_URL: string;
  DEFAULT_REGION?: string;
  /** Hostname of the zone route the edge is deployed on (`npm run deploy` sets it); Cache API keys use it. */
  EDGE_HOSTNAME?: string;
  /** Trending lists, hot video pool, emergency pages (written by the pre-warm cron). */
  FYP_KV: KVNamespace;
  /** Coalescer Durable Objects, one per hot shared key. */
  COALESCER: DurableObjectNamespace;
  /** RegionHealth Durable Object (one global instance). */
  REGION_HEALTH?: DurableObjectNamespace;
  /** Interaction events → home region's origin. */
  EVENTS?: Queue;
  /** "1" lets the ?region= query and x-fyp-region header override geo routing (local runs, tests). */
  ALLOW_REGION_OVERRIDE?: string;
  /** Per-client rate limit (Workers Rate Limiting binding) and its local off switch ("off"). */
  CLIENT_LIMIT?: { limit(o: { key: string }): Promise<{ success: boolean }> };
  CLIENT_RATE_LIMIT?: string;
  /** Upper bound of the events consumer's retry delay (s); tests shrink it. */
  EVENTS_MAX_RETRY_DELAY_S?: string;
  /** Deliveries of one events message before it is parked as a dead letter (default 100 = max_retries). */
  EVENTS_MAX_DELIVERY_ATTEMPTS?: string;
  /** RegionHealth timings (ms / counts); see edge/region-health-config.ts. */
  HEALTH_PROBE_INTERVAL_MS?: string;
  HEALTH_PROBE_TIMEOUT_MS?: string;
  HEALTH_FAILURES_TO_REMOVE?: string;
  HEALTH_ANTI_FLAP_MS?: string;
  HEALTH_RECOVERY_WEIGHT?: string;
  HEALTH_FULL_WEIGHT_AFTER_MS?: string;
  /** Where region_down / region_recovered alerts are POSTed (edge/alert-webhook.ts); empty = recorded only. */
  ALERT_WEBHOOK_URL?: string;
  /** Where capacity steps (failover ×1.5 / back) are POSTed (edge/scaler.ts); empty = recorded only. */
  SCALER_WEBHOOK_URL?: string;
  /** Session tokens: longest accepted lifetime (s, default 604800 = 7 days) and clock skew (s, default 60). */
  SESSION_MAX_LIFETIME_S?: string;
  SESSION_CLOCK_SKEW_S?: string;
  /** Failover step 6: warn when a catalogue replication flow lags more than this (s, default 60). */
  REPLICATION_LAG_WARN_S?: string;
  /** How long the edge keeps a video 404, per answering region (s, 0..60, default 2; edge/video-not-found.ts). */
  VIDEO_NOT_FOUND_TTL_S?: string;
}

const EdgeConfigSchema = z.object({
  SESSION_SECRET: z.string().min(16),
  ADMIN_TOKEN: z.string().min(16),
  INTERNAL_SECRET: z.string().min(8),
  ORIGIN_US_URL: z.url(),
  ORIGIN_EU_URL: z.url(),
  ORIGIN_APAC_URL: z.url(),
  DEFAULT_REGION: RegionSchema.default("us"),
  // Production default: geo routing only; local runs and tests set "1".
  ALLOW_REGION_OVERRIDE: z.enum(["0", "1"]).default("0"),
  SESSION_MAX_LIFETIME_S: z.coerce.number().int().positive().default(SESSION_DEFAULTS.maxLifetimeS),
  SESSION_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(600).default(SESSION_DEFAULTS.clockToleranceS),
});
export type EdgeConfig = z.infer<typeof EdgeConfigSchema> & { origins: Record<Region, string> };

let cached: { raw: EdgeBindings; cfg: EdgeConfig } | null = null;
export function edgeConfig(env: EdgeBindings): EdgeConfig {
  if (cached && cached.raw === env) return cached.cfg;
  const p = EdgeConfigSchema.parse(env);
  const strip = (u: string) => u.replace(/\/+$/, "");
  const cfg = { ...p, origins: { us: strip(p.ORIGIN_US_URL), eu: strip(p.ORIGIN_EU_URL), apac: strip(p.ORIGIN_APAC_URL) } };
  cached = { raw: env, cfg };
  return cfg;
}
