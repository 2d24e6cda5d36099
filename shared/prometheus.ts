// A small Prometheus text-format registry that runs in workerd (prom-client needs Node internals).
// Counters, gauges and fixed-bucket histograms with labels; render() emits exposition format 0.0.4.

type Labels = Record<string, string>;
const key = (l: Labels) => JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1)));
const fmtLabels = (l: Labels, extra?: [string, string]) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

interface Series<T> { labels: Labels; value: T }

export class Registry {
  private readonly counters = new Map<string, { help: string; series: Map<string, Series<number>> }>();
  private readonly gauges = new Map<string, { help: string; series: Map<string, Series<number>> }>();
  private readonly histos = new Map<string, { help: string; buckets: number[]; series: Map<string, Series<{ counts: number[]; sum: number; n: number }>> }>();

  counter(name: string, help: string) {
    if (!this.counters.has(name)) this.counters.set(name, { help, series: new Map() });
    const m = this.counters.get(name)!;
    return {
      inc: (labels: Labels = {}, by = 1) => {
        const k = key(labels);
        const s = m.series.get(k);
        if (s) s.value += by;
        else m.series.set(k, { labels, value: by });
      },
    };
  }

  gauge(name: string, help: string) {
    if (!this.gauges.has(name)) this.gauges.set(name, { help, series: new Map() });
    const m = this.gauges.get(name)!;
    return { set: (labels: Labels, value: number) => void m.series.set(key(labels), { labels, value }) };
  }

  histogram(name: string, help: string, buckets: number[]) {
    if (!this.histos.has(name)) this.histos.set(name, { help, buckets, series: new Map() });
    const m = this.histos.get(name)!;
    return {
      observe: (labels: Labels, v: number) => {
        const k = key(labels);
        let s = m.series.get(k);
        if (!s) m.series.set(k, (s = { labels, value: { counts: new Array(m.buckets.length).fill(0), sum: 0, n: 0 } }));
        for (let i = 0; i < m.buckets.length; i++) if (v <= m.buckets[i]) s.value.counts[i]++;
        s.value.sum += v;
        s.value.n++;
      },
    };
  }

  render(): string {
    const out: string[] = [];
    for (const [name, m] of this.counters) {
      out.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} counter`);
      for (const s of m.series.values()) out.push(`${name}${fmtLabels(s.labels)} ${s.value}`);
    }
    for (const [name, m] of this.gauges) {
      out.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} gauge`);
      for (const s of m.series.values()) out.push(`${name}${fmtLabels(s.labels)} ${s.value}`);
    }
    for (const [name, m] of this.histos) {
      out.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} histogram`);
      for (const s of m.series.values()) {
        m.buckets.forEach((b, i) => out.push(`${name}_bucket${fmtLabels(s.labels, ["le", String(b)])} ${s.value.counts[i]}`));
        out.push(`${name}_bucket${fmtLabels(s.labels, ["le", "+Inf"])} ${s.value.n}`);
        out.push(`${name}_sum${fmtLabels(s.labels)} ${s.value.sum}`, `${name}_count${fmtLabels(s.labels)} ${s.value.n}`);
      }
    }
    return out.join("\n") + "\n";
  }
}

export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 15, 25, 40, 50, 75, 100, 150, 250, 500, 1000, 2500];
