import pg from "pg";
import { mintSessionToken } from "../shared/auth.ts";
import { LOCAL_PG, REGIONS, regionDatabase, type Region } from "../shared/local-ports.ts";
import { percentile } from "./load.ts";

// Zipf replay (DESIGN §5): a skewed request stream through the edge, like real short-video traffic — a few
// users and videos take most requests. Feed reads (30% anonymous; signed-in users drawn by Zipf over the
// population, each continuing their cursor chain with probability 0.6) and video metadata reads (videos
// drawn by Zipf over the seed's popularity order). Measures where requests were answered: the edge
// (x-cache), the origins' app cache (chains, video metadata in Redis) and feature store
// (fyp_cache_requests_total{tier}), against the seed's 95% / 70% / 90%.

/** Deterministic PRNG (mulberry32), so two runs replay the same stream. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sampler of ranks 0..n-1 with P(k) ∝ 1/(k+1)^s. */
function zipf(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1) ** s;
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

async function cacheCounters(originUrls: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const url of originUrls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split("\n")) {
      const m = /^fyp_cache_requests_total\{([^}]*)\}\s+([0-9.eE+-]+)$/.exec(line);
      if (!m) continue;
      const tier = /tier="([^"]+)"/.exec(m[1])?.[1];
      const result = /result="([^"]+)"/.exec(m[1])?.[1];
      out[`${tier}/${result}`] = (out[`${tier}/${result}`] ?? 0) + Number(m[2]);
    }
  }
  return out;
}

export interface ReplayOptions {
  edgeUrl: string;
  originUrls: string[];
  pgPort: number;
  sessionSecret: string;
  requests: number;
  /** Requests played first (same stream) to warm the caches; not counted. */
  warmup?: number;
  concurrency: number;
  users?: number;
  videos?: number;
  exponent?: number;
  seed?: number;
}

export interface ReplayResult {
  requests: number;
  non200: number;
  p50: number;
  p99: number;
  edge: { feed: [number, number]; videos: [number, number] };
  /** Video metadata hits by the tier that answered (x-cache-tier: memory, cache, pool). */
  videoTiers: Record<string, number>;
  /** Measured edge misses by cause (what a cache would need to answer them). */
  missCauses: Record<string, number>;
  /** Hits an infinite, never-expiring edge cache would have had on the same stream (key seen before). */
  ideal: { feed: number; videos: number };
  app: [number, number];
  /** Redis lookups of the feature store (hits, lookups). */
  feature: [number, number];
  /** The origins' isolate memo of decoded video features, in front of Redis (hits, lookups). */
  featureMemo: [number, number];
}

export async function zipfReplay(o: ReplayOptions): Promise<ReplayResult> {
  const rand = rng(o.seed ?? 42);
  const s = o.exponent ?? 1.0;
  // Population: users of all regions (with their home region), videos in the seed's popularity order.
  const people: { id: string; region: Region }[] = [];
  let videos: string[] = [];
  for (const r of REGIONS) {
    const c = new pg.Client({ host: "127.0.0.1", port: o.pgPort, database: regionDatabase(r), ...LOCAL_PG });
    await c.connect();
    try {
      const per = Math.ceil((o.users ?? 3000) / REGIONS.length);
      people.push(...(await c.query(`SELECT user_id FROM users ORDER BY user_id LIMIT ${per}`)).rows.map((x) => ({ id: `u${x.user_id}`, region: r })));
      if (!videos.length) videos = (await c.query(`SELECT video_id FROM videos WHERE status = 'active' ORDER BY views DESC LIMIT ${o.videos ?? 20_000}`)).rows.map((x) => `v${x.video_id}`);
    } finally {
      await c.end();
    }
  }
  // Shuffle users so Zipf rank is not correlated with region or id.
  for (let i = people.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [people[i], people[j]] = [people[j], people[i]];
  }
  const pickUser = zipf(people.length, s, rand);
  const pickVideo = zipf(videos.length, s, rand);
  const tokens = new Map<string, Promise<string>>();
  const token = (u: { id: string; region: Region }) => {
    if (!tokens.has(u.id)) tokens.set(u.id, mintSessionToken(o.sessionSecret, u.id, u.region));
    return tokens.get(u.id)!;
  };
  const cursors = new Map<string, string>();
  // How the page a cursor came from was served (x-cache, level, source): explains continuation misses.
  const cursorFrom = new Map<string, string>();
  // The stream is drawn up front (deterministic), then played by `concurrency` workers in order.
  type Req = { kind: "feed"; user: { id: string; region: Region } | null; region: Region } | { kind: "video"; id: string };
  const stream: Req[] = [];
  const warm = o.warmup ?? 0;
  for (let i = 0; i < warm + o.requests; i++) {
    if (rand() < 0.55) {
      const anon = rand() < 0.3;
      const user = anon ? null : people[pickUser()];
      stream.push({ kind: "feed", user, region: user?.region ?? REGIONS[Math.floor(rand() * REGIONS.length)] });
    } else stream.push({ kind: "video", id: videos[pickVideo()] });
  }
  const edge = { feed: [0, 0] as [number, number], videos: [0, 0] as [number, number] };
  const videoTiers: Record<string, number> = {};
  const missCauses: Record<string, number> = {};
  const lat: number[] = [];
  let non200 = 0;
  let next = 0;
  let measuring = false;
  const seen = new Set<string>();
  const ideal = { feed: 0, videos: 0 };
  const cont = rng((o.seed ?? 42) + 1);
  const play = async (end: number) => {
    while (next < end) {
      const req = stream[next++];
      const t0 = performance.now();
      let res: Response;
      let cacheKey: string;
      let usedCursor: string | undefined;
      if (req.kind === "video") {
        cacheKey = `v/${req.id}`;
        res = await fetch(`${o.edgeUrl}/v1/videos/${req.id}`);
        await res.arrayBuffer();
      } else {
        const key = req.user?.id ?? `anon-${req.region}`;
        const cursor = req.user && cont() < 0.6 ? cursors.get(key) : undefined;
        usedCursor = cursor;
        const qs = `count=10&region=${req.region}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        cacheKey = `f/${key}/${cursor ?? "first"}`;
        res = await fetch(`${o.edgeUrl}/v1/feed?${qs}`, { headers: req.user ? { authorization: `Bearer ${await token(req.user)}` } : {} });
        const body = (await res.json().catch(() => null)) as { next_cursor?: string | null } | null;
        if (req.user) {
          if (body?.next_cursor) {
            cursors.set(key, body.next_cursor);
            const b = body as { degradation_level?: number; source?: string };
            cursorFrom.set(body.next_cursor, `${cursor ? "a continuation" : "a first"} page, ${res.headers.get("x-cache")}, level ${b.degradation_level}, ${b.source}`);
          } else cursors.delete(key);
        }
      }
      const seenBefore = seen.has(cacheKey);
      seen.add(cacheKey);
      if (!measuring) continue;
      if (seenBefore) ideal[req.kind === "video" ? "videos" : "feed"]++;
      lat.push(performance.now() - t0);
      if (res.status !== 200) non200++;
      const hit = ["HIT", "STALE", "COALESCED"].includes(res.headers.get("x-cache") ?? "");
      const bucket = req.kind === "video" ? edge.videos : edge.feed;
      bucket[0] += hit ? 1 : 0;
      bucket[1] += 1;
      if (!hit) {
        const first = cacheKey.endsWith("/first");
        const cause = req.kind === "video" ? (seenBefore ? "video read again after its copy expired" : "video never read before, not in the pushed pool")
          : !req.user ? "anonymous page expired"
          : first ? (seenBefore ? "first page again after its 15 s TTL (a new ranking)" : "first page of a user never seen before")
          : `continuation page (cursor from ${cursorFrom.get(usedCursor ?? "") ?? "?"})`;
        missCauses[cause] = (missCauses[cause] ?? 0) + 1;
      }
      const tier = res.headers.get("x-cache-tier");
      if (hit && req.kind === "video" && tier) videoTiers[tier] = (videoTiers[tier] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, () => play(warm)));
  const before = await cacheCounters(o.originUrls);
  measuring = true;
  await Promise.all(Array.from({ length: o.concurrency }, () => play(stream.length)));
  const after = await cacheCounters(o.originUrls);
  const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  lat.sort((a, b) => a - b);
  return {
    requests: o.requests, non200, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), edge, videoTiers, missCauses, ideal,
    app: [delta("app/hit"), delta("app/hit") + delta("app/miss")],
    feature: [delta("feature/hit"), delta("feature/hit") + delta("feature/miss")],
    featureMemo: [delta("feature_memo/hit"), delta("feature_memo/hit") + delta("feature_memo/miss")],
  };
}
