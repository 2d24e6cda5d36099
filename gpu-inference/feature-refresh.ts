// Keeps the ranking service's video feature table current (gpu-inference/feature-table.ts):
//   - full load at start, then every `fullReloadMs` and when the model changes (a new generation is built
//     next to the serving one and swapped in: requests never see a half-loaded table);
//   - incremental refresh every `refreshMs` (videos created, edited, removed or re-counted since the
//     previous refresh: gpu-inference/feature-source.ts), applied to the serving table in place;
//   - on-demand fetch: ids a request did not find are read from the source right after the request (it
//     was already scored from the cold item features), at most `maxFetchIds` per read, one read at a time;
//     ids the source does not hold as active are remembered for `negativeTtlMs` so a bad or removed id
//     does not cost a read per request.
// One table operation runs at a time. A failed load/refresh is logged and counted, the serving table
// stays as it was (stale beats none), and the next tick tries again; without any table the service
// answers by-ids requests 503 (gpu-inference/app.ts) and /readyz is 503.
import { LRUCache } from "lru-cache";
import { formatId } from "../shared/u64-ids.ts";
import type { FeatureSource } from "./feature-source.ts";
import { FeatureTable } from "./feature-table.ts";

export type RefreshKind = "full" | "incremental" | "fetch";

export interface FeatureRefreshOptions {
  source: FeatureSource;
  /** Incremental refresh period (FEATURE_REFRESH_MS, default 10 s); ≤ 0 = none. */
  refreshMs: number;
  /** Full reload period (FEATURE_FULL_RELOAD_MS, default 30 min); ≤ 0 = none. */
  fullReloadMs: number;
  /** Most ids one on-demand read asks for (default 1,000); more missing ids wait for the next read. */
  maxFetchIds?: number;
  /** How long an id the source does not hold stays unfetched (default 60 s). */
  negativeTtlMs?: number;
  log?: (msg: string) => void;
  /** Outcome of every operation: kind, ok, duration (ms), rows applied. */
  onRefresh?: (kind: RefreshKind, ok: boolean, ms: number, rows: number) => void;
}

export interface FeatureTableStatus {
  source: string;
  ready: boolean;
  version: string | null;
  rows: number;
  bytes: number;
  loaded_at: string | null;
  refreshed_at: string | null;
  rejected_rows: number;
}

/** The largest uint64 Postgres can hold as bigint: ids above it cannot exist in the source. */
const MAX_BIGINT_HI = 0x7fffffff;

export class FeatureTableHolder {
  private current: FeatureTable | null = null;
  private readonly o: Required<Omit<FeatureRefreshOptions, "log" | "onRefresh">> & Pick<FeatureRefreshOptions, "log" | "onRefresh">;
  private cursor: string | null = null;
  private generation = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private loadedAt: Date | null = null;
  private refreshedAt: Date | null = null;
  private readonly pending = new Set<string>();
  private fetching = false;
  private readonly absent: LRUCache<string, true>;

  constructor(o: FeatureRefreshOptions) {
    this.o = { maxFetchIds: 1000, negativeTtlMs: 60_000, ...o };
    this.absent = new LRUCache({ max: 100_000, ttl: this.o.negativeTtlMs });
  }

  /** The serving table; null until the first full load succeeded. */
  get table(): FeatureTable | null {
    return this.current;
  }

  get status(): FeatureTableStatus {
    const t = this.current;
    return {
      source: this.o.source.name, ready: t !== null, version: t?.version ?? null, rows: t?.size ?? 0, bytes: t?.bytes ?? 0,
      loaded_at: this.loadedAt?.toISOString() ?? null, refreshed_at: this.refreshedAt?.toISOString() ?? null, rejected_rows: t?.rejected ?? 0,
    };
  }

  /** First full load (a failure is logged; the timers retry), then the refresh timers. */
  async start(): Promise<void> {
    await this.reloadFull().catch(() => undefined);
    const every = (name: string, ms: number, f: () => Promise<unknown>) => {
      if (ms <= 0) return;
      const tick = () => {
        void f().catch(() => undefined).finally(() => {
          if (!this.stopped) this.timers.set(name, setTimeout(tick, ms).unref());
        });
      };
      this.timers.set(name, setTimeout(tick, ms).unref());
    };
    every("incremental", this.o.refreshMs, () => this.refresh());
    every("full", this.o.fullReloadMs, () => this.reloadFull());
  }

  /** Runs table operations one at a time, in call order. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f, f);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async timed<T extends number>(kind: RefreshKind, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const rows = await f();
      this.o.onRefresh?.(kind, true, performance.now() - t0, rows);
      return rows;
    } catch (e) {
      this.o.onRefresh?.(kind, false, performance.now() - t0, 0);
      this.o.log?.(`feature table ${kind} from ${this.o.source.name} failed: ${(e as Error).message}`);
      throw e;
    }
  }

  /** Builds a new generation from the source and swaps it in; resolves with its row count. */
  reloadFull(): Promise<number> {
    return this.serial(() =>
      this.timed("full", async () => {
        const next = new FeatureTable(this.generation + 1, Math.max(1024, this.current?.size ?? 0));
        const cursor = await this.o.source.loadAll((rows) => void next.upsert(rows));
        next.markLoaded();
        this.generation++;
        this.current = next;
        this.cursor = cursor;
        this.loadedAt = this.refreshedAt = new Date();
        this.o.log?.(`feature table ${next.version}: ${next.size} videos from ${this.o.source.name} (${(next.bytes / 1048576).toFixed(1)} MiB)`);
        return next.size;
      }),
    );
  }

  /** Applies the changes since the last refresh (a full load when there is no table yet); resolves with the rows applied. */
  refresh(): Promise<number> {
    if (!this.current) return this.reloadFull();
    const since = this.cursor;
    const changed = this.o.source.changedSince?.bind(this.o.source);
    if (!changed || since === null) return Promise.resolve(0);
    return this.serial(() =>
      this.timed("incremental", async () => {
        const { rows, cursor } = await changed(this.cursor ?? since);
        const r = this.current!.upsert(rows);
        this.cursor = cursor;
        this.refreshedAt = new Date();
        for (const row of rows) if (row.active) this.absent.delete(row.id);
        return r.changed;
      }),
    );
  }

  /**
   * Notes the ids at `positions` of a request's packed ids (shared/u64-ids.ts) as missing from the table
   * and starts an on-demand read of them unless one is running. Never throws, never waits.
   */
  noteMissing(ids: Uint32Array, positions: readonly number[]): void {
    if (!this.o.source.byIds) return;
    for (const p of positions) {
      if (this.pending.size >= this.o.maxFetchIds * 10) break;
      const hi = ids[2 * p + 1];
      if (hi > MAX_BIGINT_HI) continue;
      const id = formatId(ids[2 * p], hi);
      if (!this.absent.has(id)) this.pending.add(id);
    }
    if (this.pending.size && !this.fetching) {
      this.fetching = true;
      setImmediate(() => void this.fetchPending().finally(() => (this.fetching = false)));
    }
  }

  /** Reads pending ids from the source (maxFetchIds per read) until none are left; resolves with rows applied. */
  async fetchPending(): Promise<number> {
    let applied = 0;
    while (this.pending.size && this.current && !this.stopped) {
      const batch = [...this.pending].slice(0, this.o.maxFetchIds);
      for (const id of batch) this.pending.delete(id);
      try {
        applied += await this.serial(() =>
          this.timed("fetch", async () => {
            const rows = (await this.o.source.byIds!(batch)).filter((r) => r.active);
            const r = this.current!.upsert(rows);
            const found = new Set(rows.map((row) => row.id));
            for (const id of batch) if (!found.has(id)) this.absent.set(id, true);
            return r.changed;
          }),
        );
      } catch {
        for (const id of batch) this.absent.set(id, true); // the source failed: do not retry per request
      }
    }
    return applied;
  }

  /** Stops the timers and closes the source; the serving table stays readable. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.chain.catch(() => undefined);
    await this.o.source.close();
  }
}
