// In-memory synthetic interactions with a known hidden engagement function, for tests and for the tiny
// bootstrap model. Users and videos live on latent topics; engagement depends mostly on user–video
// affinity plus context, and only weakly on popularity — so a popularity ranker is a real but beatable bar.
import { CTX_DIM, EMBEDDING_DIM, contextFeatures } from "../../shared/rank-contract.ts";
import { allocDataset, type Dataset } from "./dataset.ts";
import { createRng, type Rng } from "./rng.ts";

const SYNTHETIC_EPOCH_MS = Date.UTC(2026, 0, 1);

export interface SyntheticOptions {
  rows: number;
  users?: number; // default 300
  videos?: number; // default 600
  topics?: number; // default 8
  seed?: number; // default 7
}

function unitNoisy(center: Float32Array, noise: number, rng: Rng, out: Float32Array, off: number): void {
  let norm = 0;
  for (let d = 0; d < EMBEDDING_DIM; d++) {
    const v = center[d] + noise * rng.normal();
    out[off + d] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  for (let d = 0; d < EMBEDDING_DIM; d++) out[off + d] /= norm;
}

export function generateSynthetic(o: SyntheticOptions): Dataset {
  const rng = createRng(o.seed ?? 7);
  const nUsers = o.users ?? 300, nVideos = o.videos ?? 600, nTopics = o.topics ?? 8;
  const centers: Float32Array[] = [];
  for (let t = 0; t < nTopics; t++) {
    const c = new Float32Array(EMBEDDING_DIM);
    unitNoisy(new Float32Array(EMBEDDING_DIM), 1, rng, c, 0);
    centers.push(c);
  }
  const userEmb = new Float32Array(nUsers * EMBEDDING_DIM);
  for (let u = 0; u < nUsers; u++) unitNoisy(centers[rng.int(nTopics)], 0.35, rng, userEmb, u * EMBEDDING_DIM);
  const videoEmb = new Float32Array(nVideos * EMBEDDING_DIM);
  const views = new Float64Array(nVideos), likeRate = new Float64Array(nVideos), ageDays = new Float64Array(nVideos);
  for (let v = 0; v < nVideos; v++) {
    unitNoisy(centers[rng.int(nTopics)], 0.45, rng, videoEmb, v * EMBEDDING_DIM);
    views[v] = Math.floor(2e6 / Math.pow(1 + rng.int(nVideos), 1.1)); // Zipf-ish popularity
    likeRate[v] = 0.02 + 0.13 * rng.next();
    ageDays[v] = -Math.log(1 - rng.next()) * 10;
  }

  const n = o.rows;
  // One interaction a minute (ts), so pipelines exercise the same time-based held-out split as real data.
  const d = allocDataset(n, true);
  const ts = d.ts!;
  for (let i = 0; i < n; i++) {
    const u = rng.int(nUsers), v = rng.int(nVideos);
    d.user.set(userEmb.subarray(u * EMBEDDING_DIM, (u + 1) * EMBEDDING_DIM), i * EMBEDDING_DIM);
    d.video.set(videoEmb.subarray(v * EMBEDDING_DIM, (v + 1) * EMBEDDING_DIM), i * EMBEDDING_DIM);
    const followed = rng.next() < 0.1;
    const c = contextFeatures(views[v], views[v] * likeRate[v], followed, ageDays[v]);
    d.ctx.set(c, i * CTX_DIM);
    let dot = 0;
    for (let k = 0; k < EMBEDDING_DIM; k++) dot += d.user[i * EMBEDDING_DIM + k] * d.video[i * EMBEDDING_DIM + k];
    // Hidden engagement function: affinity dominates; quality, follow, freshness and popularity help.
    const logit = 3.2 * dot + 10 * (c[1] - 0.085) + 1.2 * c[2] + 0.8 * c[3] + 0.6 * c[0] - 1.1;
    d.label[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    ts[i] = SYNTHETIC_EPOCH_MS + i * 60_000;
  }
  return d;
}
