import { describe, expect, it } from "vitest";
import { FeatureTableHolder, type RefreshKind } from "../../gpu-inference/feature-refresh.ts";
import type { FeatureSource } from "../../gpu-inference/feature-source.ts";
import type { VideoFeatureRow } from "../../gpu-inference/feature-table.ts";
import { packIds } from "../../shared/u64-ids.ts";

// How the ranking service keeps its feature table current (gpu-inference/feature-refresh.ts), over an
// in-memory FeatureSource (our own interface; the Postgres source runs in
// test/integration/rank-feature-table.test.ts against a real database).

const row = (id: number, over: Partial<VideoFeatureRow> = {}): VideoFeatureRow => ({
  id: String(id), author: "7", embedding: Array.from({ length: 16 }, (_, d) => ((id + d) % 5) / 10), views: id, likes: 1,
  createdMs: 0, active: true, ...over,
});

/** A catalogue in memory: `changes` holds rows stamped with a logical time; cursors are those times. */
function memorySource() {
  const s = {
    videos: new Map<string, VideoFeatureRow>(),
    changes: [] as { t: number; row: VideoFeatureRow }[],
    clock: 0,
    fail: false,
    byIdsCalls: [] as string[][],
    write(r: VideoFeatureRow) {
      s.videos.set(r.id, r);
      s.changes.push({ t: ++s.clock, row: r });
    },
  };
  const source: FeatureSource = {
    name: "memory",
    async loadAll(sink) {
      if (s.fail) throw new Error("source down");
      sink([...s.videos.values()].filter((r) => r.active));
      return String(s.clock);
    },
    async changedSince(cursor) {
      if (s.fail) throw new Error("source down");
      return { rows: s.changes.filter((c) => c.t > Number(cursor)).map((c) => c.row), cursor: String(s.clock) };
    },
    async byIds(ids) {
      s.byIdsCalls.push(ids);
      if (s.fail) throw new Error("source down");
      return ids.map((id) => s.videos.get(id)).filter((r): r is VideoFeatureRow => !!r);
    },
    close: async () => {},
  };
  return { s, source };
}

const holderOver = (source: FeatureSource, outcomes: [RefreshKind, boolean][] = []) =>
  new FeatureTableHolder({ source, refreshMs: 0, fullReloadMs: 0, onRefresh: (k, ok) => outcomes.push([k, ok]) });
const settle = () => new Promise((r) => setTimeout(r, 20));

describe("feature table refresh", () => {
  it("full load, then incremental refreshes: new videos, count changes and removals; a new generation per full load", async () => {
    const { s, source } = memorySource();
    for (let i = 1; i <= 5; i++) s.write(row(i));
    const h = holderOver(source);
    await h.start();
    expect(h.status).toMatchObject({ ready: true, version: "1.0", rows: 5, source: "memory" });
    s.write(row(6)); // an upload
    s.write(row(2, { views: 999 })); // counts changed
    s.write(row(3, { active: false })); // removed
    expect(await h.refresh()).toBe(3);
    expect(h.status).toMatchObject({ version: "1.1", rows: 5 });
    expect(h.table!.lookup("6")).not.toBeNull();
    expect(h.table!.lookup("3")).toBeNull();
    expect(await h.refresh()).toBe(0);
    expect(h.status.version).toBe("1.1");
    await h.reloadFull();
    expect(h.status).toMatchObject({ version: "2.0", rows: 5 });
    await h.stop();
  });

  it("a failing source keeps the serving table (stale beats none) and is counted; without any table the first refresh is a full load", async () => {
    const { s, source } = memorySource();
    s.write(row(1));
    const outcomes: [RefreshKind, boolean][] = [];
    s.fail = true;
    const h = holderOver(source, outcomes);
    await h.start();
    expect(h.table).toBeNull();
    expect(h.status.ready).toBe(false);
    s.fail = false;
    await h.refresh();
    expect(h.status).toMatchObject({ ready: true, rows: 1 });
    s.fail = true;
    await expect(h.refresh()).rejects.toThrow(/source down/);
    await expect(h.reloadFull()).rejects.toThrow(/source down/);
    expect(h.status).toMatchObject({ ready: true, rows: 1, version: "1.0" });
    expect(outcomes).toEqual([["full", false], ["full", true], ["incremental", false], ["full", false]]);
    await h.stop();
  });

  it("fetches missing ids on demand, once: found ones join the table, absent ones are not read again for a while", async () => {
    const { s, source } = memorySource();
    s.write(row(1));
    const h = holderOver(source);
    await h.start();
    s.videos.set("50", row(50)); // in the database, not yet seen by a refresh (e.g. a late replicated upload)
    const ids = packIds(["1", "50", "77"]);
    h.noteMissing(ids, [1, 2]);
    h.noteMissing(ids, [1, 2]); // a second request before the read: no second read
    await settle();
    expect(s.byIdsCalls).toEqual([["50", "77"]]);
    expect(h.table!.lookup("50")).not.toBeNull();
    h.noteMissing(ids, [2]); // 77 does not exist: remembered as absent
    await settle();
    expect(s.byIdsCalls).toHaveLength(1);
    await h.stop();
  });

  it("ids a Postgres bigint cannot hold are never asked for", async () => {
    const { s, source } = memorySource();
    s.write(row(1));
    const h = holderOver(source);
    await h.start();
    h.noteMissing(packIds(["18446744073709551615", "9223372036854775808"]), [0, 1]);
    await settle();
    expect(s.byIdsCalls).toEqual([]);
    await h.stop();
  });
});
