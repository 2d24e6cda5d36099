import { Redis } from "@upstash/redis/cloudflare";
import type { OriginConfig } from "./env.ts";

// Upstash Redis over REST. One client per isolate (fetch-based, so safe across requests). Each request
// gets a fresh AbortSignal.timeout, so a hung Redis costs at most REDIS_TIMEOUT_MS, never a stuck feed.
export const REDIS_TIMEOUT_MS = 150;

let client: { url: string; redis: Redis } | null = null;

export function redisFor(cfg: OriginConfig): Redis {
  if (client && client.url === cfg.UPSTASH_REDIS_REST_URL) return client.redis;
  const redis = new Redis({
    url: cfg.UPSTASH_REDIS_REST_URL,
    token: cfg.UPSTASH_REDIS_REST_TOKEN,
    automaticDeserialization: false,
    // No client-side retries: the call sites apply the seed's rows (origin/retry-policy.ts). `retry: false`
    // is not that: @upstash/redis 1.x still re-sends once after a network error (attempts 1 = 2 fetches).
    retry: { retries: 0 },
    signal: () => AbortSignal.timeout(REDIS_TIMEOUT_MS),
  });
  client = { url: cfg.UPSTASH_REDIS_REST_URL, redis };
  return redis;
}

export class TimeoutError extends Error {}

/** Race a promise against a timer; for calls that take no AbortSignal of their own. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
