// Hot-key detection and per-key origin rate limiting, per isolate. A key is "hot" when its request rate
// over a sliding one-second window (two half-windows) passes a threshold; origin fetches per key are
// capped by a token bucket so a viral video cannot stampede its origin.

export interface HotKeyConfig {
  hotRps: number;
  originRps: number;
  originBurst: number;
  maxTracked: number;
}
export const HOT_DEFAULTS: HotKeyConfig = { hotRps: 50, originRps: 20, originBurst: 20, maxTracked: 10_000 };

interface Entry {
  windowStart: number;
  current: number;
  previous: number;
  tokens: number;
  refillAt: number;
}

export class HotKeys {
  private readonly entries = new Map<string, Entry>();
  private readonly cfg: HotKeyConfig;
  constructor(cfg: HotKeyConfig = HOT_DEFAULTS) {
    this.cfg = cfg;
  }

  private entry(key: string, now: number): Entry {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.cfg.maxTracked) this.entries.delete(this.entries.keys().next().value!);
      e = { windowStart: now, current: 0, previous: 0, tokens: this.cfg.originBurst, refillAt: now };
      this.entries.set(key, e);
    }
    const elapsed = now - e.windowStart;
    if (elapsed >= 1000) {
      e.previous = elapsed >= 2000 ? 0 : e.current;
      e.current = 0;
      e.windowStart = now - (elapsed % 1000);
    }
    return e;
  }

  /** Record one request; returns the estimated requests/second for the key. */
  hit(key: string, now = Date.now()): number {
    const e = this.entry(key, now);
    e.current++;
    const frac = (now - e.windowStart) / 1000;
    return e.current + e.previous * (1 - frac);
  }

  isHot(rps: number): boolean {
    return rps >= this.cfg.hotRps;
  }

  /** Take one origin-fetch token for the key; false when the key is over its origin budget. */
  takeOriginToken(key: string, now = Date.now()): boolean {
    const e = this.entry(key, now);
    e.tokens = Math.min(this.cfg.originBurst, e.tokens + ((now - e.refillAt) / 1000) * this.cfg.originRps);
    e.refillAt = now;
    if (e.tokens < 1) return false;
    e.tokens -= 1;
    return true;
  }

  hotKeys(now = Date.now()): string[] {
    const out: string[] = [];
    for (const [k, e] of this.entries) if (now - e.windowStart < 2000 && this.isHot(e.current + e.previous)) out.push(k);
    return out;
  }
}
