// Inline SVG sparklines for the ops page: a few series over a shared time axis, gaps where a value is
// missing (origin down, no data yet). Returns markup built from numbers only, so it is safe to assign
// with innerHTML; no chart library, nothing to fetch.

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number | null]>;
}

const W = 300;
const H = 90;
const PAD = 4;

export interface SparkOptions {
  /** Fixed y range (levels are 0–5); otherwise 0…max of the data. */
  yMin?: number;
  yMax?: number;
  /** Time window shown, ending at `now`. */
  windowMs: number;
  now: number;
  /** How to print the top-of-axis value. */
  format?: (v: number) => string;
  /** Step lines (levels change in jumps) instead of straight segments. */
  step?: boolean;
}

function fmt(n: number): string {
  return n.toFixed(1);
}

export function sparklineSvg(series: readonly Series[], o: SparkOptions): string {
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== null));
  const yMin = o.yMin ?? 0;
  const yMax = Math.max(o.yMax ?? (values.length ? Math.max(...values) : 1), yMin + 1e-9);
  const t0 = o.now - o.windowMs;
  const x = (t: number) => PAD + ((t - t0) / o.windowMs) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - ((Math.min(v, yMax) - yMin) / (yMax - yMin)) * (H - 2 * PAD);
  const paths = series.map((s) => {
    let d = "";
    let pen = false;
    let lastX = 0;
    let lastY = 0;
    for (const [t, v] of s.points) {
      if (t < t0) continue;
      if (v === null) {
        pen = false;
        continue;
      }
      const px = x(t);
      const py = y(v);
      if (!pen) d += `M${fmt(px)},${fmt(py)}`;
      else if (o.step) d += `H${fmt(px)}V${fmt(py)}`;
      else d += `L${fmt(px)},${fmt(py)}`;
      pen = true;
      lastX = px;
      lastY = py;
    }
    const tail = pen ? `<circle cx="${fmt(lastX)}" cy="${fmt(lastY)}" r="2" fill="${s.color}"/>` : "";
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5" stroke-linejoin="round"/>${tail}`;
  });
  const top = (o.format ?? ((v: number) => String(Math.round(v))))(yMax);
  return `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img">` +
    `<line x1="0" y1="${H - PAD}" x2="${W}" y2="${H - PAD}" stroke="#2a2f3a"/>` +
    `<text x="${W - 2}" y="11" text-anchor="end" font-size="10" fill="#9aa0a6">${top}</text>` +
    paths.join("") + `</svg>`;
}

/** Small colour legend under a chart; names are region ids, escaped anyway. */
export function legendHtml(series: readonly Series[]): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<div class="legend">${series.map((s) => `<span style="color:${s.color}">■ ${esc(s.name)}</span>`).join("")}</div>`;
}
