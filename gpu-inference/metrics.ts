// Minimal Prometheus text-format metrics (counter, gauge, histogram) plus a sliding-window quantile for
// the p99 gauge the HPA scales on. Small enough to own; avoids a dependency for ~100 lines of formatting.

type Labels = Record<string, string>;

const fmtLabels = (l: Labels | undefined, extra?: Labels): string => {
  const all = { ...l, ...extra };
  const keys = Object.keys(all);
  if (keys.length === 0) return "";
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${esc(all[k])}"`).join(",")}}`;
};
const fmtNum = (v: number) => (Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN");

interface Metric {
  render(): string;
}

abstract class Base implements Metric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  protected header(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
  }
  abstract render(): string;
}

export class Counter extends Base {
  readonly type = "counter";
  private values = new Map<string, { labels: Labels | undefined; v: number }>();
  inc(labels?: Labels, by = 1): void {
    const key = fmtLabels(labels);
    const cur = this.values.get(key);
    if (cur) cur.v += by;
    else this.values.set(key, { labels, v: by });
  }
  get(labels?: Labels): number {
    return this.values.get(fmtLabels(labels))?.v ?? 0;
  }
  render(): string {
    const lines = [...this.values.values()].map((x) => `${this.name}${fmtLabels(x.labels)} ${fmtNum(x.v)}`);
    if (lines.length === 0) lines.push(`${this.name} 0`);
    return this.header() + lines.join("\n") + "\n";
  }
}

/** A gauge whose value is read at scrape time, so it can never go stale. */
export class Gauge extends Base {
  readonly type = "gauge";
  private readonly read: () => number | Array<{ labels: Labels; value: number }>;
  constructor(name: string, help: string, read: () => number | Array<{ labels: Labels; value: number }>) {
    super(name, help);
    this.read = read;
  }
  render(): string {
    const v = this.read();
    const rows = typeof v === "number" ? [{ labels: {}, value: v }] : v;
    return this.header() + rows.map((r) => `${this.name}${fmtLabels(r.labels)} ${fmtNum(r.value)}\n`).join("");
  }
}

export class Histogram extends Base {
  readonly type = "histogram";
  private readonly buckets: number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(name: string, help: string, buckets: number[]) {
    super(name, help);
    this.buckets = [...buckets].sort((a, b) => a - b);
    this.counts = new Array(this.buckets.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
  }
  render(): string {
    const lines = this.buckets.map((b, i) => `${this.name}_bucket${fmtLabels(undefined, { le: String(b) })} ${this.counts[i]}`);
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${fmtNum(this.sum)}`, `${this.name}_count ${this.count}`);
    return this.header() + lines.join("\n") + "\n";
  }
}

/** Quantiles over the samples of the last `windowMs` (bounded ring buffer, so memory is fixed). */
export class SlidingWindow {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;
  private readonly windowMs: number;
  constructor(windowMs = 60_000, capacity = 8192) {
    this.windowMs = windowMs;
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }
  add(v: number, now = Date.now()): void {
    this.values[this.next] = v;
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.values.length;
    this.size = Math.min(this.size + 1, this.values.length);
  }
  /** Nearest-rank quantile of the live window; 0 when the window is empty. */
  quantile(q: number, now = Date.now()): number {
    const live: number[] = [];
    for (let i = 0; i < this.size; i++) if (now - this.times[i] <= this.windowMs) live.push(this.values[i]);
    if (live.length === 0) return 0;
    live.sort((a, b) => a - b);
    return live[Math.min(live.length - 1, Math.max(0, Math.ceil(q * live.length) - 1))];
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];
  add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join("");
  }
}
