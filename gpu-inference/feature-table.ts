// The ranking service's versioned in-memory video feature table (issue 13; the DLRM/Monolith pattern of
// keeping item embeddings with the model): a rank request carries the user's features and candidate ids
// only, and the service gathers each candidate's embedding and context features from here.
//
// Layout: one 80-byte row per video in one buffer — 16 embedding floats, the two count features
// precomputed, the creation day (float32: ~3 minutes of precision, what exp(-age/7 days) needs) and an
// interned author number (-1 = inactive) — found through a uint64 id index (gpu-inference/u64-index.ts).
// A request gathers 5,000 random rows, so what costs is cache misses: one row is two adjacent lines and
// an index slot one more (separate arrays per column cost five misses per candidate). ~150 bytes per
// video with the index (`bytes`; bench/rank.bench.ts prints the resident memory per 100k videos).
//
// Versions: "<generation>.<delta>": generation counts full loads (gpu-inference/feature-refresh.ts builds
// a new table per full load and swaps it in: "<generation>.0"), delta counts later upserts that changed at
// least one row (incremental refreshes, on-demand fetches). The rank response names the version it used.
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
/** Row layout (floats): embedding 0..15, viewsFeature, likeRateFeature, created day, author (int32 view). */
const ROW = 20;
const VIEWS = 16;
const LIKES = 17;
const DAY = 18;
const AUTHOR = 19;

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
  /** Rows inserted, updated, deactivated or re-activated (a row re-read with the same values is not a change). */
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
  private f: Float32Array; // cap × ROW
  private a: Int32Array; // the same buffer, for the author word
  private readonly sum = new Float64Array(EMBEDDING_DIM); // Σ embedding over active rows (cold item = mean)
  private readonly cold = new Float32Array(EMBEDDING_DIM);
  rejected = 0;

  constructor(generation: number, expectedRows = 1024) {
    this.generation = generation;
    this.cap = Math.max(16, expectedRows);
    this.index = new U64Index(this.cap);
    this.f = new Float32Array(this.cap * ROW);
    this.a = new Int32Array(this.f.buffer);
  }

  private active(row: number): boolean {
    return this.a[row * ROW + AUTHOR] >= 0;
  }

  /** Ends a full load: the rows loaded so far are the generation's base version "<generation>.0". */
  markLoaded(): void {
    this.delta = 0;
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
    return this.f.byteLength + this.index.bytes + this.authors.bytes;
  }

  /** The cold item embedding (a copy): the mean of the active rows' embeddings, zeros when there are none. */
  coldEmbedding(): Float32Array {
    return Float32Array.from(this.cold);
  }

  /** A video's stored features, or null when the table does not hold it as active (tests, /v1/features). */
  lookup(id: string): { author: string; embedding: Float32Array; viewsFeature: number; likeRateFeature: number; createdMs: number } | null {
    const [lo, hi] = packIds([id]);
    const row = this.index.get(lo, hi);
    if (row < 0 || !this.active(row)) return null;
    const o = row * ROW;
    return {
      author: this.authorNames[this.a[o + AUTHOR]], embedding: this.f.slice(o, o + EMBEDDING_DIM),
      viewsFeature: this.f[o + VIEWS], likeRateFeature: this.f[o + LIKES], createdMs: this.f[o + DAY] * DAY_MS,
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
        if (row >= 0 && this.active(row)) {
          this.deactivate(row);
          changed++;
        }
        continue;
      }
      if (!validEmbedding(r.embedding)) {
        rejected++;
        continue;
      }
      let a = this.authors.get(alo, ahi);
      if (a < 0) {
        a = this.authorCount++;
        this.authors.set(alo, ahi, a);
        this.authorNames.push(r.author);
      }
      if (row >= 0 && this.same(row, r, a)) continue; // re-read unchanged (a refresh's overlap window)
      if (row < 0) {
        if (this.used === this.cap) this.grow();
        row = this.used++;
        this.index.set(lo, hi, row);
      } else if (this.active(row)) this.deactivate(row); // take the old embedding out of the mean
      const o = row * ROW;
      for (let d = 0; d < EMBEDDING_DIM; d++) {
        this.f[o + d] = r.embedding[d];
        this.sum[d] += this.f[o + d];
      }
      this.f[o + VIEWS] = viewsFeature(r.views);
      this.f[o + LIKES] = likeRateFeature(r.views, r.likes);
      this.f[o + DAY] = r.createdMs / DAY_MS; // NaN stays NaN: recencyFeature reads it as age 0
      this.a[o + AUTHOR] = a;
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

  /** True when active `row` already holds exactly what `r` (author number `a`) would write. */
  private same(row: number, r: VideoFeatureRow, a: number): boolean {
    const o = row * ROW;
    if (this.a[o + AUTHOR] !== a) return false; // also false for an inactive row (-1)
    const f = this.f;
    if (f[o + VIEWS] !== Math.fround(viewsFeature(r.views)) || f[o + LIKES] !== Math.fround(likeRateFeature(r.views, r.likes))) return false;
    if (!Object.is(f[o + DAY], Math.fround(r.createdMs / DAY_MS))) return false;
    for (let d = 0; d < EMBEDDING_DIM; d++) if (f[o + d] !== Math.fround(r.embedding[d])) return false;
    return true;
  }

  private deactivate(row: number): void {
    const o = row * ROW;
    for (let d = 0; d < EMBEDDING_DIM; d++) this.sum[d] -= this.f[o + d];
    this.a[o + AUTHOR] = -1;
    this.live--;
  }

  private grow(): void {
    this.cap *= 2;
    const f = new Float32Array(this.cap * ROW);
    f.set(this.f);
    this.f = f;
    this.a = new Int32Array(f.buffer);
  }

  // Followed-author marks of the current gather: authorMark[a] === stamp. Reused, so no per-request set.
  private authorMark = new Int32Array(1024);
  private rowScratch = new Int32Array(1024);
  private stamp = 0;

  /**
   * Fills `video` (n × 16) and `ctx` (n × 4) for the n = ids.length / 2 packed candidate ids: embeddings
   * from the table, context [log1p(views)/15, min(1, likes/(views+1)), followedAuthor, exp(-age_days/7)]
   * with followedAuthor from `followees` (packed author ids) and the age at `nowMs`. Ids the table does
   * not hold as active get the cold item features; their positions are returned. Every written value is
   * a valid model input (rows were checked at upsert; the context formulas are bounded).
   */
  gather(ids: Uint32Array, followees: Uint32Array | null, nowMs: number, video: Float32Array, ctx: Float32Array): GatherResult {
    const n = ids.length >>> 1;
    if (this.authorMark.length < this.authorCount) this.authorMark = new Int32Array(Math.max(this.authorCount, this.authorMark.length * 2));
    const stamp = (this.stamp = (this.stamp + 1) | 0) || (this.authorMark.fill(0), (this.stamp = 1));
    const mark = this.authorMark;
    if (followees) {
      for (let i = 0; i < followees.length; i += 2) {
        const a = this.authors.get(followees[i], followees[i + 1]);
        if (a >= 0) mark[a] = stamp;
      }
    }
    const missing: number[] = [];
    const { f, a: words, index, cold } = this;
    const today = nowMs / DAY_MS;
    // Two passes: all index lookups first (independent loads the CPU overlaps), then the row copies, whose
    // addresses are known by then; interleaved, each row waited for its index slot (~1.5× slower). Plain
    // loops, no subarray(): a typed-array view per row cost ~1 µs, 5 ms per 5,000 candidates.
    if (this.rowScratch.length < n) this.rowScratch = new Int32Array(Math.max(n, 2 * this.rowScratch.length));
    const rows = this.rowScratch;
    for (let i = 0; i < n; i++) rows[i] = index.get(ids[2 * i], ids[2 * i + 1]);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      const c = i * CTX_DIM;
      const to = i * EMBEDDING_DIM;
      const o = row * ROW;
      const author = row < 0 ? -1 : words[o + AUTHOR];
      if (author < 0) {
        missing.push(i);
        for (let d = 0; d < EMBEDDING_DIM; d++) video[to + d] = cold[d];
        ctx[c] = 0;
        ctx[c + 1] = 0;
        ctx[c + 2] = 0;
        ctx[c + 3] = recencyFeature(0);
        continue;
      }
      for (let d = 0; d < EMBEDDING_DIM; d++) video[to + d] = f[o + d];
      ctx[c] = f[o + VIEWS];
      ctx[c + 1] = f[o + LIKES];
      ctx[c + 2] = mark[author] === stamp ? 1 : 0;
      ctx[c + 3] = recencyFeature(today - f[o + DAY]);
    }
    return { missing };
  }
}
