// Model registry: a directory of `model-<version>.onnx` files plus `manifest.json` holding per-version
// metadata and the `current` pointer. The ranking service polls the manifest to hot-reload.
//
// Writes go to a temp file and are renamed into place, so a reader (the polling server, possibly another
// process) sees either the old or the new manifest, never a torn one. Versions sort lexicographically in
// creation order: `m<UTC yyyymmddThhmmssSSS>Z-<sha256 prefix>`, forced strictly increasing per directory.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export const KEEP_VERSIONS = 30;
// Same place scripts/stack.ts puts the dev stack's registry (.local/<profile>/models).
export const DEFAULT_MODEL_DIR = ".local/dev/models";

export interface ModelMeta {
  version: string;
  created_at: string; // ISO-8601
  auc: number | null;
  logloss: number | null;
  baseline_auc: number | null;
  baseline_logloss: number | null;
  rows: number; // labelled examples the model was trained and evaluated on
  data_window: { from: string | null; to: string | null; source?: string };
  /** Free-form training facts (label rule, split, epochs…) shown by the CLI; not used for serving. */
  training?: Record<string, string | number | boolean>;
  file: string;
  sha256: string;
}

export interface Manifest {
  current: string | null;
  versions: ModelMeta[]; // ascending by version
}

export type RegisterMeta = Omit<ModelMeta, "version" | "created_at" | "file" | "sha256">;

const MANIFEST = "manifest.json";
const STAMP_RE = /^m(\d{8}T\d{9})Z-/;

/** `m20261125T020304123Z` for a Date (UTC, millisecond precision). */
function stamp(d: Date): string {
  return `m${d.toISOString().replace(/[-:]/g, "").replace(".", "").slice(0, 18)}Z`;
}

function stampToMs(version: string): number | null {
  const m = STAMP_RE.exec(version);
  if (!m) return null;
  const s = m[1];
  return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15), +s.slice(15, 18));
}

/** Why a model's metrics make it unregistrable, or null when they are fine. */
export function unregistrableMetric(meta: Pick<RegisterMeta, "auc" | "logloss" | "baseline_auc" | "baseline_logloss">): string | null {
  for (const k of ["auc", "logloss"] as const) if (!Number.isFinite(meta[k])) return `${k} is ${meta[k]}, not a finite number`;
  for (const k of ["baseline_auc", "baseline_logloss"] as const) {
    const v = meta[k];
    if (v !== null && !Number.isFinite(v)) return `${k} is ${v}, not a finite number`;
  }
  return null;
}

export class ModelRegistry {
  readonly dir: string;

  constructor(dir: string = process.env.MODEL_DIR ?? DEFAULT_MODEL_DIR) {
    this.dir = path.resolve(dir);
  }

  get manifestPath(): string {
    return path.join(this.dir, MANIFEST);
  }

  async readManifest(): Promise<Manifest> {
    let text: string;
    try {
      text = await readFile(this.manifestPath, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { current: null, versions: [] };
      throw e;
    }
    const m = JSON.parse(text) as Manifest;
    return { current: m.current ?? null, versions: Array.isArray(m.versions) ? m.versions : [] };
  }

  private async writeManifest(m: Manifest): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.manifestPath}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify(m, null, 2));
    await rename(tmp, this.manifestPath);
  }

  /** Serialises read-modify-write cycles of this instance (several registrations from one process). */
  private chain: Promise<unknown> = Promise.resolve();
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Stores the model, makes it current (unless makeCurrent=false) and prunes to the newest 30.
   * Rejects (RangeError, nothing written) a model whose held-out AUC or log-loss is not a finite number, or
   * whose baseline figures are neither null nor finite: a NaN metric means training or evaluation saw
   * non-finite data, and such a model must never become current. (JSON would also store NaN as null.)
   */
  register(onnx: Uint8Array, meta: RegisterMeta, opts: { makeCurrent?: boolean; now?: Date } = {}): Promise<ModelMeta> {
    const bad = unregistrableMetric(meta);
    if (bad) return Promise.reject(new RangeError(`registry: ${bad}; not registering the model`));
    return this.exclusive(async () => {
      const m = await this.readManifest();
      const sha256 = createHash("sha256").update(onnx).digest("hex");
      // Strictly increasing stamps keep "sort by version" == "registration order" even within one ms.
      let t = (opts.now ?? new Date()).getTime();
      const last = m.versions.at(-1);
      const lastMs = last ? stampToMs(last.version) : null;
      if (lastMs !== null && t <= lastMs) t = lastMs + 1;
      const version = `${stamp(new Date(t))}-${sha256.slice(0, 6)}`;
      const file = `model-${version}.onnx`;
      await mkdir(this.dir, { recursive: true });
      const tmp = path.join(this.dir, `${file}.tmp`);
      await writeFile(tmp, onnx);
      await rename(tmp, path.join(this.dir, file));
      const entry: ModelMeta = { ...meta, version, created_at: new Date(t).toISOString(), file, sha256 };
      m.versions.push(entry);
      m.versions.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
      if (opts.makeCurrent !== false || m.current === null) m.current = version;
      const removed = this.prune(m);
      await this.writeManifest(m);
      // Delete files only after the manifest no longer references them.
      await Promise.all(removed.map((r) => rm(path.join(this.dir, r.file), { force: true })));
      return entry;
    });
  }

  /** Keeps the newest KEEP_VERSIONS; the current version is never pruned (a rollback target stays). */
  private prune(m: Manifest): ModelMeta[] {
    const removed: ModelMeta[] = [];
    while (m.versions.length > KEEP_VERSIONS) {
      const idx = m.versions.findIndex((v) => v.version !== m.current);
      removed.push(...m.versions.splice(idx, 1));
    }
    return removed;
  }

  /**
   * Points `current` at an existing version (the service picks it up on its next poll). Without a
   * version it goes to the one registered just before the current one — "undo the last deploy".
   */
  rollback(version?: string): Promise<ModelMeta> {
    return this.exclusive(async () => {
      const m = await this.readManifest();
      let target = version;
      if (target === undefined) {
        const idx = m.versions.findIndex((v) => v.version === m.current);
        if (idx <= 0) throw new Error("registry: no version before the current one to roll back to");
        target = m.versions[idx - 1].version;
      }
      const entry = m.versions.find((v) => v.version === target);
      if (!entry) throw new Error(`registry: unknown version ${target} (known: ${m.versions.map((v) => v.version).join(", ") || "none"})`);
      m.current = entry.version;
      await this.writeManifest(m);
      return entry;
    });
  }

  async current(): Promise<ModelMeta | null> {
    const m = await this.readManifest();
    return m.versions.find((v) => v.version === m.current) ?? null;
  }

  async list(): Promise<ModelMeta[]> {
    return (await this.readManifest()).versions;
  }

  async load(version: string): Promise<{ meta: ModelMeta; bytes: Uint8Array }> {
    const m = await this.readManifest();
    const meta = m.versions.find((v) => v.version === version);
    if (!meta) throw new Error(`registry: unknown version ${version}`);
    const bytes = new Uint8Array(await readFile(path.join(this.dir, meta.file)));
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== meta.sha256) throw new Error(`registry: checksum mismatch for ${version}`);
    return { meta, bytes };
  }
}
