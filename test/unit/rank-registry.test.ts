import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Scorer } from "../../gpu-inference/backends.ts";
import { ModelHolder } from "../../gpu-inference/model-holder.ts";
import { KEEP_VERSIONS, ModelRegistry, type RegisterMeta } from "../../gpu-inference/registry.ts";

const dirs: string[] = [];
const tempRegistry = () => {
  const d = mkdtempSync(path.join(tmpdir(), "fyp-rank-reg-"));
  dirs.push(d);
  return new ModelRegistry(d);
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const meta = (auc: number): RegisterMeta => ({
  auc, logloss: 0.5, baseline_auc: 0.55, baseline_logloss: 0.68, rows: 1000,
  data_window: { from: "2026-11-01T00:00:00.000Z", to: "2026-11-02T00:00:00.000Z" },
});
// The registry treats models as opaque bytes; distinct bytes give distinct checksums.
const bytes = (i: number) => new TextEncoder().encode(`model-${i}`);

/** A scorer that records its release, standing in for an onnxruntime session. */
function fakeScorer(tag: string, released: string[]): Scorer {
  return { backend: "cpu", run: async ({ rows }) => new Float32Array(rows), release: async () => void released.push(tag) };
}

const waitFor = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("model registry", () => {
  it("versions sort in registration order, carry metadata, and only the newest 30 are kept", async () => {
    const reg = tempRegistry();
    const now = new Date("2026-11-25T00:00:00Z");
    const versions: string[] = [];
    for (let i = 0; i < KEEP_VERSIONS + 3; i++) versions.push((await reg.register(bytes(i), meta(0.6 + i / 1000), { now })).version);
    expect([...versions].sort()).toEqual(versions); // same timestamp, still strictly increasing
    const kept = await reg.list();
    expect(kept.map((v) => v.version)).toEqual(versions.slice(3));
    expect(readdirSync(reg.dir).filter((f) => f.endsWith(".onnx"))).toHaveLength(KEEP_VERSIONS);
    const cur = await reg.current();
    expect(cur?.version).toBe(versions.at(-1));
    expect(cur).toMatchObject({ auc: 0.632, baseline_auc: 0.55, rows: 1000, data_window: { from: "2026-11-01T00:00:00.000Z" } });
    expect(Date.parse(cur!.created_at)).toBeGreaterThanOrEqual(now.getTime());
    expect((await reg.load(cur!.version)).bytes).toEqual(bytes(KEEP_VERSIONS + 2));
  });

  it("rolls back to a named or the previous version, and never prunes the current one", async () => {
    const reg = tempRegistry();
    const v: string[] = [];
    for (let i = 0; i < 3; i++) v.push((await reg.register(bytes(i), meta(0.6))).version);
    expect((await reg.rollback()).version).toBe(v[1]);
    expect((await reg.rollback(v[0])).version).toBe(v[0]);
    expect((await reg.current())?.version).toBe(v[0]);
    await expect(reg.rollback()).rejects.toThrow(/no version before/);
    await expect(reg.rollback("m-nope")).rejects.toThrow(/unknown version m-nope/);
    // Fill past the limit without making the new ones current: the rolled-back current survives pruning.
    for (let i = 3; i < KEEP_VERSIONS + 5; i++) await reg.register(bytes(i), meta(0.6), { makeCurrent: false });
    const list = await reg.list();
    expect(list).toHaveLength(KEEP_VERSIONS);
    expect(list.some((x) => x.version === v[0])).toBe(true);
    expect((await reg.current())?.version).toBe(v[0]);
  });

  it("rejects a model file whose checksum does not match", async () => {
    const reg = tempRegistry();
    const m = await reg.register(bytes(1), meta(0.6));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(reg.dir, m.file), "tampered");
    await expect(reg.load(m.version)).rejects.toThrow(/checksum mismatch/);
  });

  it("registry CLI lists and rolls back", async () => {
    const reg = tempRegistry();
    const a = await reg.register(bytes(1), meta(0.61));
    const b = await reg.register(bytes(2), meta(0.62));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["gpu-inference/registry-cli.ts", ...args, "--model-dir", reg.dir], { encoding: "utf8" });
    const list = cli("--list");
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(`* ${b.version}`);
    const rb = cli("--rollback", a.version);
    expect(rb.status, rb.stderr).toBe(0);
    expect(rb.stdout).toContain(`-> ${a.version}`);
    expect((await reg.current())?.version).toBe(a.version);
    const bad = cli("--rollback", "m-missing");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown version m-missing/);
  });
});

describe("model holder (hot reload)", () => {
  it("polls the registry, swaps to a new current version, and releases the old session only after in-flight work", async () => {
    const reg = tempRegistry();
    const v1 = await reg.register(bytes(1), meta(0.6));
    const released: string[] = [];
    let loads = 0;
    const holder = new ModelHolder(reg, { pollMs: 20, load: async () => fakeScorer(`s${++loads}`, released) });
    await holder.start();
    try {
      expect(holder.ready).toBe(true);
      expect(holder.meta?.version).toBe(v1.version);
      const lease = holder.acquire()!; // a batch still running on v1

      const v2 = await reg.register(bytes(2), meta(0.7));
      await waitFor(() => holder.meta?.version === v2.version);
      expect(released).toEqual([]); // the in-flight batch still holds s1
      expect(holder.acquire()?.version).toBe(v2.version);
      lease.release();
      await waitFor(() => released.includes("s1"));

      await reg.rollback(v1.version);
      await waitFor(() => holder.meta?.version === v1.version);
      expect(loads).toBe(3);
    } finally {
      await holder.stop();
    }
  });

  it("keeps serving the old model when a new artifact fails to load", async () => {
    const reg = tempRegistry();
    const v1 = await reg.register(bytes(1), meta(0.6));
    let fail = false;
    const results: boolean[] = [];
    const holder = new ModelHolder(reg, {
      pollMs: 20,
      load: async () => {
        if (fail) throw new Error("corrupt model");
        return fakeScorer("ok", []);
      },
      onReload: (ok) => results.push(ok),
    });
    await holder.start();
    try {
      fail = true;
      await reg.register(bytes(2), meta(0.7));
      await waitFor(() => results.includes(false));
      expect(holder.meta?.version).toBe(v1.version);
      expect(holder.ready).toBe(true);
      await new Promise((r) => setTimeout(r, 100)); // several polls: the bad version is not retried each time
      expect(results).toEqual([true, false]);
      fail = false;
      await holder.reload({ force: true });
      expect(holder.meta?.version).not.toBe(v1.version);
    } finally {
      await holder.stop();
    }
    expect(existsSync(reg.manifestPath)).toBe(true);
  });
});
