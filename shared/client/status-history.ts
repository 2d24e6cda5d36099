import type { StatusView } from "./status-view.ts";

// A sliding window of /v1/status samples, the data behind the ops page's sparklines (level per region,
// origin latency per region, edge hit rate). Bounded by age and count, so a dashboard left open for a
// day holds a few minutes of points, not a day's.

export const HISTORY_WINDOW_MS = 5 * 60 * 1000;
const MAX_SAMPLES = 600;

export interface StatusSample {
  t: number;
  level: Record<string, number | null>;
  latencyMs: Record<string, number | null>;
  hitRate: number | null;
}

export type Metric = "level" | "latencyMs";

export function sampleOf(v: StatusView, t: number): StatusSample {
  const level: Record<string, number | null> = {};
  const latencyMs: Record<string, number | null> = {};
  for (const r of v.regions) {
    level[r.region] = r.level;
    // An unreachable origin has a latency (the time to fail) but plotting it would read as "slow", not "down".
    latencyMs[r.region] = r.reachable === false ? null : r.latencyMs;
  }
  return { t, level, latencyMs, hitRate: v.hitRate };
}

export class StatusHistory {
  #samples: StatusSample[] = [];
  readonly windowMs: number;

  constructor(windowMs = HISTORY_WINDOW_MS) {
    this.windowMs = windowMs;
  }

  add(s: StatusSample): void {
    this.#samples.push(s);
    const cutoff = s.t - this.windowMs;
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop].t < cutoff) drop++;
    drop = Math.max(drop, this.#samples.length - MAX_SAMPLES);
    if (drop > 0) this.#samples.splice(0, drop);
  }

  get size(): number {
    return this.#samples.length;
  }

  /** Time span to draw ending at `now`: what the data covers (at least `minMs`), at most the window. */
  span(now: number, minMs = 30_000): number {
    const first = this.#samples[0]?.t ?? now;
    return Math.min(this.windowMs, Math.max(minMs, now - first));
  }

  regions(): string[] {
    return [...new Set(this.#samples.flatMap((s) => Object.keys(s.level)))];
  }

  /** [t, value] points of one region's metric; null values (no data, origin down) become gaps. */
  series(metric: Metric, region: string): Array<[number, number | null]> {
    return this.#samples.map((s) => [s.t, s[metric][region] ?? null]);
  }

  hitRateSeries(): Array<[number, number | null]> {
    return this.#samples.map((s) => [s.t, s.hitRate]);
  }
}
