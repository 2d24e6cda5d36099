import type { Region } from "../shared/regions.ts";

// KV layout written by the pre-warm job (edge/prewarm.ts) and read by the edge routes.
export const KV = {
  trending: (r: Region) => `trending:${r}`,
  emergencyJson: (r: Region) => `emergency:${r}:json`,
  emergencyHtml: (r: Region) => `emergency:${r}:html`,
  hotVideo: (id: string) => `hot:video:${id}`,
  /** Shard i of the pushed hot-video pool (edge/hot-pool.ts). */
  hotPool: (shard: number) => `hot:pool:${shard}`,
  prewarmMeta: "prewarm:meta",
} as const;
