// Closed-loop load generator for the benchmarks: `concurrency` workers issue requests back to back for
// `seconds`, recording every latency. Reports throughput and exact percentiles (all samples kept).
export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function load(url: string | (() => string), opts: { concurrency: number; seconds: number; init?: RequestInit; ok?: (r: Response) => boolean; fetch?: (url: string, init?: RequestInit) => Promise<Response> }): Promise<LoadResult> {
  const get = opts.fetch ?? fetch;
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + opts.seconds * 1000;
  const next = typeof url === "string" ? () => url : url;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const r = await get(next(), opts.init);
        await r.arrayBuffer();
        if (opts.ok ? !opts.ok(r) : !r.ok) errors++;
      } catch {
        errors++;
      }
      lat.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { requests: lat.length, errors, rps: lat.length / secs, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
}

/**
 * `load` over node:http with one keep-alive socket per worker (no fetch/undici in the client): the client
 * costs far less per request, so a fast server is measured rather than the load generator. GET only;
 * errors = non-2xx or failed requests.
 */
export async function loadHttp(url: string | (() => string), opts: { concurrency: number; seconds: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const { Agent, get } = await import("node:http");
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const next = typeof url === "string" ? () => url : url;
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + opts.seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = get(next(), { agent, headers: opts.headers }, (res) => {
        if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) errors++;
        res.resume();
        res.on("end", resolve);
        res.on("error", () => (errors++, resolve()));
      });
      req.on("error", () => (errors++, resolve()));
    });
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await one();
      lat.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { requests: lat.length, errors, rps: lat.length / secs, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
}

export function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : c)))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  console.log(`\n${title}`);
  cells.forEach((r, i) => {
    console.log(`| ${r.map((c, j) => c.padEnd(w[j])).join(" | ")} |`);
    if (i === 0) console.log(`| ${w.map((n) => "-".repeat(n)).join(" | ")} |`);
  });
}
