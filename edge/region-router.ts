import { ApiError } from "../shared/errors.ts";
import { isRegion, regionForGeo, type Region } from "../shared/regions.ts";
import type { EdgeConfig } from "./env.ts";

// Which region serves a read: explicit override (local runs/tests, when allowed) → request.cf geo →
// the user's home region → the configured default. Writes always go to the home region (residency).
type Geo = { country?: string; continent?: string } | null;
export interface RoutingInput {
  override?: string | null;
  /** request.cf's geo, or a function reading it: called only when no allowed override decides. */
  cf?: Geo | (() => Geo);
  homeRegion?: Region | null;
}

export function readRegion(cfg: EdgeConfig, input: RoutingInput): Region {
  if (input.override != null && input.override !== "") {
    if (!isRegion(input.override)) throw new ApiError(400, "invalid_request", "must be one of us, eu, apac", "region");
    if (cfg.ALLOW_REGION_OVERRIDE === "1") return input.override;
  }
  const cf = typeof input.cf === "function" ? input.cf() : input.cf;
  const geo = regionForGeo(cf?.country, cf?.continent);
  return geo ?? input.homeRegion ?? cfg.DEFAULT_REGION;
}

/** `request.cf` geo fields of a request (absent offline under wrangler dev, and in tests). */
export function requestGeo(req: Request): { country?: string; continent?: string } | null {
  return (req as unknown as { cf?: { country?: string; continent?: string } }).cf ?? null;
}
