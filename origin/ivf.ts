import type { Db } from "./db.ts";

// Coarse quantizer of the IVF index behind "similar" candidates. Centroids are tiny (lists × 16 floats)
// and change only when the index is rebuilt, so each isolate keeps them in memory for a few minutes.
// Probing = dot product of the user embedding with every centroid, top `nprobe` lists.
const REFRESH_MS = 5 * 60_000;
let cache: { at: number; centroids: Float32Array[] } | null = null;

export async function ivfCentroids(db: Db): Promise<Float32Array[]> {
  if (cache && Date.now() - cache.at < REFRESH_MS) return cache.centroids;
  try {
    const rows = await db.query<{ list: number; centroid: number[] }>("SELECT list, centroid FROM ivf_centroids ORDER BY list", [], 1000);
    const centroids: Float32Array[] = [];
    for (const r of rows) centroids[r.list] = Float32Array.from(r.centroid);
    cache = { at: Date.now(), centroids };
    return centroids;
  } catch (e) {
    if (cache) return cache.centroids; // stale centroids beat no "similar" candidates
    throw e;
  }
}

export function nearestLists(user: Float32Array, centroids: Float32Array[], nprobe: number): number[] {
  const scored: [number, number][] = [];
  centroids.forEach((c, list) => {
    if (!c) return;
    let dot = 0;
    for (let i = 0; i < c.length; i++) dot += c[i] * user[i];
    scored.push([dot, list]);
  });
  return scored.sort((a, b) => b[0] - a[0]).slice(0, nprobe).map(([, l]) => l);
}
