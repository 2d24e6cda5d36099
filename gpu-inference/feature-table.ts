// The ranking service's versioned in-memory video feature table (issue 13; the DLRM/Monolith pattern of
// keeping item embeddings with the model): a rank request carries the user's features and candidate ids
// only, and the service gathers each candidate's embedding and context features from here.
//
// Layout: one row per video in typed arrays (16 embedding floats, the two count features precomputed, the
// creation time, an interned author number, an active flag), found through a uint64 id index
// (gpu-inference/u64-index.ts). ~120 bytes per video (`bytes`; bench/rank.bench.ts prints the measured
// resident memory per 100k videos).
//
// Versions: "<generation>.<delta>": generation counts full loads (gpu-inference/feature-refresh.ts builds
// a new table per full load and swaps it in), delta counts upserts that changed at least one row
// (incremental refreshes, on-demand fetches). The rank response names the version it was served from.
//
// Rows are never freed: a removed/blocked video is deactivated (it reads as missing), a re-activated one
// comes back in place; the next full load compacts. Bad rows (an embedding that is not 16 feature values,
// shared/rank-contract.ts FEATURE_ABS_MAX) are refused at upsert and counted, so every gathered value is
// a valid model input.
//
// Missing ids (unknown to the table, or deactivated) are still scored: from the table's cold item
// features (the mean embedding of the active videos; context: no views, no likes, not followed, age 0 —
// a brand-new upload, which is what an id newer than the last refresh usually is). gather() reports them
// so the caller can count them and fetch them on demand.
import { CTX_DIM, EMBEDDING_DIM, isFeatureValue, likeRateFeature, recencyFeature, viewsFeature } from "../shared/rank-contract.ts";
import { packIds } from "../shared/u64-ids.ts";
import { U64Index } from "./u64-index.ts";

const DAY_MS = 86_400_000;

/** One video as a source (Postgres, snapshot) delivers it. Ids are decimal strings (Postgres bigint). */
export interface VideoFeatureRow {
  id: string;
  author: string;
  embedding: ArrayLike<number>;
  views: number;
  likes: number;
  createdMs: number;
  /** false: removed/blocked; the table deactivates the row. */
  active: boolean;
}

export interface UpsertResult {
  /** Rows inserted, updated, deactivated or re-activated. */
  changed: number;
  /** Rows refused (bad id or embedding); existing rows for them are left as they were. */
  rejected: number;
}

/** What gather() did: positions (into the request's ids) that were scored from the cold item features. */
export interface GatherResult {
  missing: number[];
}

const validEmbedding = (e: ArrayLike<number>): boolean => {
  if (!e || e.length !== EMBEDDING_DIM) return false;
  for (let i = 0; i < EMBEDDING_DIM; i++) if (!isFeatureValue(e[i])) return false;
  return true;
};

export class FeatureTable {
  /** Full-load count; the version's first part. */
  readonly generation: number;
  private delta = 0;
  private readonly index: U64Index;
  private readonly authors = new U64Index(1024);
  private authorCount = 0;
  private cap: number;
  private used = 0;
  private live = 0;
  private emb: Float32Array;
  private counts: Float32Array; // [viewsFeature, likeRateFeature] per row
  private created: Float64Array;
  private author: Int32Array;
  private active: Uint8Array;
  private readonly sum = new Float64Array(EMBEDDING_DIM); // Σ embedding over active rows (cold item = mean)
  private readonly cold = new Float32Array(EMBEDDING_DIM);
  rejected = 0;

  constructor(generation: number, expectedRows = 1024) {
    this.generation = generation;
    this.cap = Math.max(16, expectedRows);
    this.index = new U64Index(this.cap);
    this.emb = new Float32Array(this.cap * EMBEDDING_DIM);
    this.counts = new Float32Array(this.cap * 2);
    this.created = new Float64Array(this.cap);
    this.author = new Int32Array(this.cap);
    this.active = new Uint8Array(this.cap);
  }

  /** "<generation>.<delta>" (see the header). */
  get version(): string {
    return `${this.generation}.${this.delta}`;
  }

  /** Active (rankable) videos. */
  get size(): number {
    return this.live;
  }

  /** Bytes of the table's arrays and indexes (not the JS object overhead). */
  get bytes(): number {
    return this.emb.byteLength + this.counts.byteLength + this.created.byteLength + this.author.byteLength + this.active.byteLength +
      this.index.bytes + this.authors.bytes;
  }

  /** The cold item embedding (a copy): the mean of the active rows' embeddings, zeros when there are none. */
  coldEmbedding(): Float32Array {
    return Float32Array.from(this.cold);
  }

  /** A video's stored features, or null when the table does not hold it as active (tests, /v1/features). */
  lookup(id: string): { author: string; embedding: Float32Array; viewsFeature: number; likeRateFeature: number; createdMs: number } | null {
    const [lo, hi] = packIds([id]);
    const row = this.index.get(lo, hi);
    if (row < 0 || !this.active[row]) return null;
    return {
      author: this.authorNames[this.author[row]], embedding: this.emb.slice(row * EMBEDDING_DIM, (row + 1) * EMBEDDING_DIM),
      viewsFeature: this.counts[2 * row], likeRateFeature: this.counts[2 * row + 1], createdMs: this.created[row],
    };
  }

  private readonly authorNames: string[] = [];

  /**
   * Inserts or replaces rows (by id), deactivates inactive ones; bumps the version's delta when anything
   * changed. Rows with a malformed id or embedding are refused (counted in `rejected`).
   */
  upsert(rows: readonly VideoFeatureRow[]): UpsertResult {
    let changed = 0;
    let rejected = 0;
    for (const r of rows) {
      let lo: number, hi: number, alo: number, ahi: number;
      try {
        [lo, hi, alo, ahi] = packIds([r.id, r.author]);
      } catch {
        rejected++;
        continue;
      }
      let row = this.index.get(lo, hi);
      if (!r.active) {
        if (row >= 0 && this.active[row]) {
          this.deactivate(row);
          changed++;
        }
        continue;
      }
      if (!validEmbedding(r.embedding)) {
        rejected++;
        continue;
      }
      if (row < 0) {
        if (this.used === this.cap) this.grow();
        row = this.used++;
        this.index.set(lo, hi, row);
      } else if (this.active[row]) this.deactivate(row); // take the old embedding out of the mean
      let a = this.authors.get(alo, ahi);
      if (a < 0) {
        a = this.authorCount++;
        this.authors.set(alo, ahi, a);
        this.authorNames.push(r.author);
      }
      const off = row * EMBEDDING_DIM;
      for (let d = 0; d < EMBEDDING_DIM; d++) {
        this.emb[off + d] = r.embedding[d];
        this.sum[d] += this.emb[off + d];
      }
      this.counts[2 * row] = viewsFeature(r.views);
      this.counts[2 * row + 1] = likeRateFeature(r.views, r.likes);
      this.created[row] = r.createdMs;
      this.author[row] = a;
      this.active[row] = 1;
      this.live++;
      changed++;
    }
    this.rejected += rejected;
    if (changed > 0) {
      this.delta++;
      for (let d = 0; d < EMBEDDING_DIM; d++) this.cold[d] = this.live ? this.sum[d] / this.live : 0;
    }
    return { changed, rejected };
  }

  private deactivate(row: number): void {
    const off = row * EMBEDDING_DIM;
    for (let d = 0; d < EMBEDDING_DIM; d++) this.sum[d] -= this.emb[off + d];
    this.active[row] = 0;
    this.live--;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const copy = <T extends Float32Array | Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T, per: number): T => {
      const b = make(cap * per);
      b.set(a);
      return b;
    };
    this.emb = copy(this.emb, (n) => new Float32Array(n), EMBEDDING_DIM);
    this.counts = copy(this.counts, (n) => new Float32Array(n), 2);
    this.created = copy(this.created, (n) => new Float64Array(n), 1);
    this.author = copy(this.author, (n) => new Int32Array(n), 1);
    this.active = copy(this.active, (n) => new Uint8Array(n), 1);
    this.cap = cap;
  }

  /**
   * Fills `video` (n × 16) and `ctx` (n × 4) for the n = ids.length / 2 packed candidate ids: embeddings
   * from the table, context [log1p(views)/15, min(1, likes/(views+1)), followedAuthor, exp(-age_days/7)]
   * with followedAuthor from `followees` (packed author ids) and the age at `nowMs`. Ids the table does
   * not hold as active get the cold item features; their positions are returned. Every written value is
   * a valid model input (rows were checked at upsert; the context formulas are bounded).
   */
  gather(ids: Uint32Array, followees: Uint32Array | null, nowMs: number, video: Float32Array, ctx: Float32Array): GatherResult {
    const n = ids.length >>> 1;
    const followed = new Set<number>();
    if (followees) {
      for (let i = 0; i < followees.length; i += 2) {
        const a = this.authors.get(followees[i], followees[i + 1]);
        if (a >= 0) followed.add(a);
      }
    }
    const missing: number[] = [];
    const { emb, counts, created, author, active, index } = this;
    for (let i = 0; i < n; i++) {
      const row = index.get(ids[2 * i], ids[2 * i + 1]);
      const c = i * CTX_DIM;
      if (row < 0 || active[row] === 0) {
        missing.push(i);
        video.set(this.cold, i * EMBEDDING_DIM);
        ctx[c] = 0;
        ctx[c + 1] = 0;
        ctx[c + 2] = 0;
        ctx[c + 3] = recencyFeature(0);
        continue;
      }
      video.set(emb.subarray(row * EMBEDDING_DIM, (row + 1) * EMBEDDING_DIM), i * EMBEDDING_DIM);
      ctx[c] = counts[2 * row];
      ctx[c + 1] = counts[2 * row + 1];
      ctx[c + 2] = followed.size > 0 && followed.has(author[row]) ? 1 : 0;
      ctx[c + 3] = recencyFeature((nowMs - created[row]) / DAY_MS);
    }
    return { missing };
  }
}
