// Normalises a GET /v1/status body into what the ops dashboard renders. The payload is assembled from
// parts that fail independently (an origin down, the RegionHealth object unbound, fields added by later
// work), so every field is optional here and unknown keys are passed through for generic rendering
// rather than rejected: the dashboard is most needed exactly when the payload is incomplete.

export interface RegionHealthView {
  state: string | null;
  health: string | null;
  weight: number | null;
  share: number | null;
  drained: boolean | null;
  consecutiveFailures: number | null;
  lastError: string | null;
}

/** A share of a region's reads (edge/read-plan.ts): the region serving it first and the level its readers get. */
export interface ReadShareView {
  region: string;
  share: number;
  level: number;
}

export interface RegionView {
  region: string;
  level: number | null;
  forcedLevel: number | null;
  servingFrom: string | null;
  /** How the region's reads are split (a recovering region: a tenth on itself, the rest elsewhere); [] when not reported. */
  reads: ReadShareView[];
  reachable: boolean | null;
  latencyMs: number | null;
  health: RegionHealthView | null;
  /** The origin's own health payload (checks, breakers, dependencies, caches…), whatever keys it has. */
  origin: Record<string, unknown>;
}

export interface StatusView {
  generatedAt: string | null;
  regions: RegionView[];
  incidents: Record<string, unknown>[];
  events: Record<string, unknown>[];
  healthError: string | null;
  cache: Record<string, unknown>;
  hitRate: number | null;
  /** Parked events messages (edge/dead-letters.ts): total and the most recent with their reasons. */
  deadLetters: { count: number | null; recent: Record<string, unknown>[] };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null);
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x): x is Obj => typeof x === "object" && x !== null) : []);

function healthOf(v: unknown): RegionHealthView | null {
  const h = obj(v);
  if (Object.keys(h).length === 0) return null;
  return {
    state: str(h.state), health: str(h.health), weight: num(h.weight), share: num(h.share), drained: bool(h.drained),
    consecutiveFailures: num(h.consecutiveFailures), lastError: str(h.lastError),
  };
}

function readsOf(v: unknown): ReadShareView[] {
  return objs(v).flatMap((x) => {
    const region = str(x.region), share = num(x.share), level = num(x.level);
    return region !== null && share !== null && level !== null ? [{ region, share, level }] : [];
  });
}

export function statusView(raw: unknown): StatusView {
  const s = obj(raw);
  const rh = obj(s.region_health);
  const rhRegions = obj(rh.regions);
  const regionsRaw = obj(s.regions);
  // Region order: the status payload's, then any the health object knows that the payload lacks.
  const names = [...new Set([...Object.keys(regionsRaw), ...Object.keys(rhRegions)])];
  const regions = names.map((region): RegionView => {
    const r = obj(regionsRaw[region]);
    const origin = obj(r.origin);
    return {
      region, level: num(r.degradation_level), forcedLevel: num(r.forced_level), servingFrom: str(r.serving_from), reads: readsOf(r.reads),
      reachable: bool(origin.reachable), latencyMs: num(origin.latency_ms), health: healthOf(rhRegions[region]), origin,
    };
  });
  const cache = obj(obj(s.edge).cache);
  return {
    generatedAt: str(s.generated_at), regions,
    incidents: objs(rh.incidents), events: objs(rh.events), healthError: str(rh.error),
    cache, hitRate: num(cache.hit_rate),
    deadLetters: { count: num(obj(s.dead_letters).count), recent: objs(obj(s.dead_letters).recent) },
  };
}

/**
 * Flattens a nested object into dotted key/value rows (depth-limited, arrays summarised) so the page can
 * render an origin payload whose shape it does not know — breakers, dependencies, caches, checks.
 */
export function flatten(v: unknown, prefix = "", depth = 3, out: [string, string][] = []): [string, string][] {
  if (typeof v !== "object" || v === null) {
    // Latency percentiles arrive as raw floats; three decimals are plenty on a dashboard.
    const text = v === null ? "null" : typeof v === "number" && !Number.isInteger(v) ? String(Math.round(v * 1000) / 1000) : String(v);
    out.push([prefix || "value", text]);
    return out;
  }
  if (Array.isArray(v)) {
    out.push([prefix, v.length <= 5 && v.every((x) => typeof x !== "object") ? v.join(", ") || "[]" : `[${v.length} items]`]);
    return out;
  }
  const entries = Object.entries(v as Obj);
  if (entries.length === 0) out.push([prefix, "{}"]);
  for (const [k, x] of entries) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof x === "object" && x !== null && !Array.isArray(x) && depth > 1) flatten(x, key, depth - 1, out);
    else if (typeof x === "object" && x !== null && !Array.isArray(x)) out.push([key, JSON.stringify(x)]);
    else flatten(x, key, depth, out);
  }
  return out;
}
