import type { Region } from "../shared/regions.ts";
import { uploadOrigin } from "../shared/video-id.ts";
import type { EdgeBindings } from "./env.ts";
import { lagWarnS } from "./replication-gate.ts";

// Negative caching of GET /v1/videos/:id (issue 14 item 2). A 404 is one region's answer: an upload
// exists in its home region at once and in the others only once replication delivered it (the lag of
// the flow into that region, ms–s measured here). So a 404 is kept
//  - under a key of the region that answered (`video-404/<region>/<vid>`): a reader routed elsewhere
//    never sees it (the 200 copy stays under the shared key `video/<vid>`: the catalogue is global);
//  - for VIDEO_NOT_FOUND_TTL_S (default 2 s, no stale period), not the 60 s + 600 s of a 200;
//  - not at all for an upload minted in another region less than REPLICATION_LAG_WARN_S ago (the
//    failover step-6 bound of a flow's lag): that 404 is replication still in flight.
// What remains cached protects the origins from repeated reads of ids that do not exist; the per-video
// origin budget (edge/hot-keys.ts) bounds those too.
export const DEFAULT_NOT_FOUND_TTL_S = 2;
/** Largest accepted VIDEO_NOT_FOUND_TTL_S (s): a longer negative entry would outlive most lags by far. */
export const MAX_NOT_FOUND_TTL_S = 60;

export const notFoundKey = (region: Region, vid: string) => `video-404/${region}/${vid}`;

/** VIDEO_NOT_FOUND_TTL_S (s, 0..60; 0 = never cache a 404); malformed → the default. */
export function notFoundTtlFromEnv(env: Pick<EdgeBindings, "VIDEO_NOT_FOUND_TTL_S">): number {
  const n = Number(env.VIDEO_NOT_FOUND_TTL_S ?? DEFAULT_NOT_FOUND_TTL_S);
  return Number.isFinite(n) && n >= 0 && n <= MAX_NOT_FOUND_TTL_S ? n : DEFAULT_NOT_FOUND_TTL_S;
}

/**
 * Seconds a 404 for video `id` answered by `region` may be cached at `now` (ms): 0 when it may be
 * replication in flight (an upload of another region younger than `lagBoundS`), else `ttlS`.
 */
export function notFoundTtlS(id: bigint, region: Region, now: number, ttlS: number, lagBoundS: number): number {
  const up = uploadOrigin(id);
  if (up && up.region !== region && now - up.mintedAt < lagBoundS * 1000) return 0;
  return ttlS;
}

/** notFoundTtlS with the deployment's values. */
export const notFoundTtlFor = (env: EdgeBindings, id: bigint, region: Region, now = Date.now()) =>
  notFoundTtlS(id, region, now, notFoundTtlFromEnv(env), lagWarnS(env));
