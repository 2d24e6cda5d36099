// Holds the live inference session and swaps it when the registry's `current` pointer moves.
// Swaps never drop requests: the new session is loaded fully before it becomes current, and the old
// one is released only after the last batch that acquired it has finished (reference counting).
import type { Scorer } from "./backends.ts";
import type { ModelMeta, ModelRegistry } from "./registry.ts";

interface Entry {
  meta: ModelMeta;
  scorer: Scorer;
  refs: number;
  retired: boolean;
}

export interface Lease {
  version: string;
  scorer: Scorer;
  release(): void;
}

export interface HolderOptions {
  pollMs: number;
  load: (bytes: Uint8Array) => Promise<Scorer>;
  log?: (msg: string) => void;
  onReload?: (ok: boolean) => void;
}

export class ModelHolder {
  private entry: Entry | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<ReloadResult> | null = null;
  // A version that failed to load is not retried on every poll (versions are content-addressed, so a
  // fixed artifact arrives as a new version); an explicit reload({ force: true }) retries it.
  private failedVersion: string | null = null;
  private readonly registry: ModelRegistry;
  private readonly opts: HolderOptions;

  constructor(registry: ModelRegistry, opts: HolderOptions) {
    this.registry = registry;
    this.opts = opts;
  }

  get ready(): boolean {
    return this.entry !== null;
  }

  get meta(): ModelMeta | null {
    return this.entry?.meta ?? null;
  }

  /** Loads whatever is current (if anything) and starts polling. A missing model is not an error. */
  async start(): Promise<void> {
    await this.reload().catch((e) => this.opts.log?.(`initial model load failed: ${(e as Error).message}`));
    const tick = () => {
      this.reload()
        .catch((e) => this.opts.log?.(`model reload failed: ${(e as Error).message}`))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.opts.pollMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.opts.pollMs).unref();
  }

  /** Checks the registry and swaps if `current` changed. Concurrent calls share one attempt. */
  reload(opts: { force?: boolean } = {}): Promise<ReloadResult> {
    if (opts.force) this.failedVersion = null;
    this.inflight ??= this.doReload().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async doReload(): Promise<ReloadResult> {
    const meta = await this.registry.current();
    const before = this.entry?.meta.version ?? null;
    if (!meta || meta.version === before) return { changed: false, version: before };
    if (meta.version === this.failedVersion) return { changed: false, version: before };
    try {
      const { bytes } = await this.registry.load(meta.version);
      const scorer = await this.opts.load(bytes);
      const old = this.entry;
      this.entry = { meta, scorer, refs: 0, retired: false };
      if (old) this.retire(old);
      this.opts.log?.(`model ${before ?? "(none)"} -> ${meta.version}`);
      this.opts.onReload?.(true);
      return { changed: true, version: meta.version };
    } catch (e) {
      // Keep serving the old model; a bad artifact must not take the service down.
      this.failedVersion = meta.version;
      this.opts.onReload?.(false);
      throw e;
    }
  }

  /** Pins the current session for one batch; null when no model is loaded. */
  acquire(): Lease | null {
    const e = this.entry;
    if (!e) return null;
    e.refs++;
    let released = false;
    return {
      version: e.meta.version,
      scorer: e.scorer,
      release: () => {
        if (released) return;
        released = true;
        e.refs--;
        if (e.retired && e.refs === 0) void e.scorer.release().catch(() => undefined);
      },
    };
  }

  private retire(e: Entry): void {
    e.retired = true;
    if (e.refs === 0) void e.scorer.release().catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inflight?.catch(() => undefined);
    if (this.entry) this.retire(this.entry);
    this.entry = null;
  }
}

export interface ReloadResult {
  changed: boolean;
  version: string | null;
}
