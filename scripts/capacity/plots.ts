// Hand-written SVG line charts of per-minute series over a day (x: hours UTC), small enough to commit:
// series are averaged into 5-minute points (max for "peak" series) and drawn as polylines. A log y axis
// for latencies, optional horizontal reference lines (the objective), dashed series for "after the change".

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  /** One value per minute; NaN = no value (gap). */
  values: Float64Array;
  /** How 5-minute points are formed (default mean). */
  reduce?: "mean" | "max";
}

export interface ChartOptions {
  title: string;
  yLabel: string;
  series: Series[];
  log?: boolean;
  hLines?: { value: number; label: string }[];
  width?: number;
  height?: number;
  /** Shaded time ranges (minutes), e.g. the events. */
  spans?: { from: number; to: number; label: string }[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v >= 10 ? String(Math.round(v)) : v.toFixed(1));

function points(values: Float64Array, step: number, reduce: "mean" | "max"): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i += step) {
    const chunk = Array.from(values.subarray(i, i + step)).filter((x) => !Number.isNaN(x));
    out.push(chunk.length === 0 ? NaN : reduce === "max" ? Math.max(...chunk) : chunk.reduce((s, x) => s + x, 0) / chunk.length);
  }
  return out;
}

function niceTicks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 5]) if (m * 10 ** e >= lo && m * 10 ** e <= hi) out.push(m * 10 ** e);
    return out;
  }
  const span = hi - lo || 1;
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

/** Renders the chart as a standalone SVG document. */
export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 260;
  const legendRows = Math.ceil(o.series.length / 3);
  const m = { l: 56, r: 22, t: 26, b: 30 + 13 * legendRows };
  const step = 5;
  const pts = o.series.map((s) => points(s.values, step, s.reduce ?? "mean"));
  const all = pts.flat().concat((o.hLines ?? []).map((h) => h.value)).filter((x) => Number.isFinite(x) && (!o.log || x > 0));
  let lo = o.log ? Math.max(0.5, Math.min(...all)) : 0;
  let hi = Math.max(...all, o.log ? 1 : 1);
  if (o.log) [lo, hi] = [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))];
  else hi *= 1.08;
  const n = Math.max(...pts.map((p) => p.length));
  const x = (i: number) => m.l + ((W - m.l - m.r) * i) / Math.max(1, n - 1);
  const y = (v: number) => {
    const f = o.log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
    return H - m.b - f * (H - m.t - m.b);
  };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/><text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  for (const s of o.spans ?? []) {
    const x0 = x(s.from / step);
    const x1 = x(s.to / step);
    out.push(`<rect x="${x0.toFixed(1)}" y="${m.t}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${H - m.t - m.b}" fill="#f3e9c6"/><text x="${(x0 + 2).toFixed(1)}" y="${m.t + 10}" fill="#8a6d00">${esc(s.label)}</text>`);
  }
  for (const v of niceTicks(lo, hi, !!o.log)) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/><text x="${m.l - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (let h = 0; h <= 24; h += 3) {
    const xi = x((h * 60) / step);
    out.push(`<line x1="${xi.toFixed(1)}" x2="${xi.toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/><text x="${xi.toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${String(h).padStart(2, "0")}:00</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<text transform="translate(12 ${(H - m.b + m.t) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}${o.log ? " (log)" : ""}</text>`);
  for (const h of o.hLines ?? []) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(h.value).toFixed(1)}" y2="${y(h.value).toFixed(1)}" stroke="#c00" stroke-dasharray="2 3"/><text x="${W - m.r - 2}" y="${(y(h.value) - 3).toFixed(1)}" text-anchor="end" fill="#c00">${esc(h.label)}</text>`);
  }
  o.series.forEach((s, k) => {
    let d = "";
    let pen = false;
    pts[k].forEach((v, i) => {
      if (!Number.isFinite(v) || (o.log && v <= 0)) return void (pen = false);
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
    });
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
  });
  o.series.forEach((s, k) => {
    const lx = m.l + 8 + (k % 3) * 220;
    const ly = H - m.b + 30 + Math.floor(k / 3) * 13;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/><text x="${lx + 22}" y="${ly}">${esc(s.label)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
