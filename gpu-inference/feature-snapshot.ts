// Feature-table snapshot files: the ranking service can start from one (FEATURE_SNAPSHOT) instead of the
// region database, e.g. a pod that must serve before its database is reachable, or a benchmark. Columnar
// JSON, the ranking wire's encodings (shared/u64-ids.ts, shared/f32-base64.ts):
//   { "format": "fyp-feature-snapshot/1", "created_at": ISO-8601, "rows": n,
//     "ids": b64 u64[n], "authors": b64 u64[n], "embeddings": b64 f32[n × 16],
//     "views": number[n], "likes": number[n], "created_ms": number[n] }
// Only active videos are written. Write one from a region database:
//   node gpu-inference/feature-snapshot.ts --database-url postgres://… --out features.json
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import { EMBEDDING_DIM } from "../shared/rank-contract.ts";
import { base64ToF32, f32ToBase64 } from "../shared/f32-base64.ts";
import { decodeIds, encodeIds, unpackIds } from "../shared/u64-ids.ts";
import { postgresFeatureSource, type FeatureSource } from "./feature-source.ts";
import type { VideoFeatureRow } from "./feature-table.ts";

export const SNAPSHOT_FORMAT = "fyp-feature-snapshot/1";

const SnapshotSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  created_at: z.string(),
  rows: z.number().int().min(0),
  ids: z.string(),
  authors: z.string(),
  embeddings: z.string(),
  views: z.array(z.number()),
  likes: z.array(z.number()),
  created_ms: z.array(z.number()),
});

/** Writes the active rows of `rows` as a snapshot file. */
export async function writeSnapshot(path: string, rows: readonly VideoFeatureRow[], createdAt = new Date()): Promise<number> {
  const live = rows.filter((r) => r.active);
  const emb = new Float32Array(live.length * EMBEDDING_DIM);
  live.forEach((r, i) => emb.set(Array.from(r.embedding), i * EMBEDDING_DIM));
  const body = {
    format: SNAPSHOT_FORMAT, created_at: createdAt.toISOString(), rows: live.length,
    ids: encodeIds(live.map((r) => r.id)), authors: encodeIds(live.map((r) => r.author)), embeddings: f32ToBase64(emb),
    views: live.map((r) => r.views), likes: live.map((r) => r.likes), created_ms: live.map((r) => r.createdMs),
  };
  await writeFile(path, JSON.stringify(body));
  return live.length;
}

/** Reads a snapshot file; throws naming what is wrong (format, a column's length). */
export async function readSnapshot(path: string): Promise<VideoFeatureRow[]> {
  const rows: VideoFeatureRow[] = [];
  await streamSnapshot(path, (batch) => rows.push(...batch));
  return rows;
}

/**
 * Reads a snapshot file and hands its rows to `sink` in batches of `batchRows` (short-lived row objects:
 * they die young instead of growing the old generation). Throws like readSnapshot.
 */
export async function streamSnapshot(path: string, sink: (rows: VideoFeatureRow[]) => void, batchRows = 4096): Promise<number> {
  const parsed = SnapshotSchema.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!parsed.success) throw new Error(`feature snapshot ${path}: ${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message}`);
  const s = parsed.data;
  const ids = decodeIds(s.ids);
  const authors = decodeIds(s.authors);
  const emb = base64ToF32(s.embeddings);
  const n = s.rows;
  const bad = [
    ["ids", (ids?.length ?? -2) / 2], ["authors", (authors?.length ?? -2) / 2], ["embeddings", emb.length / EMBEDDING_DIM],
    ["views", s.views.length], ["likes", s.likes.length], ["created_ms", s.created_ms.length],
  ].find(([, len]) => len !== n);
  if (bad) throw new Error(`feature snapshot ${path}: column ${bad[0]} holds ${bad[1]} rows, header says ${n}`);
  for (let from = 0; from < n; from += batchRows) {
    const to = Math.min(n, from + batchRows);
    const idStr = unpackIds(ids!.subarray(2 * from, 2 * to));
    const authorStr = unpackIds(authors!.subarray(2 * from, 2 * to));
    sink(idStr.map((id, k) => {
      const i = from + k;
      return {
        id, author: authorStr[k], embedding: emb.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM),
        views: s.views[i], likes: s.likes[i], createdMs: s.created_ms[i], active: true,
      };
    }));
  }
  return n;
}

/** A snapshot file as a feature source: full loads only. */
export function snapshotFeatureSource(path: string): FeatureSource {
  return {
    name: `snapshot:${path}`,
    async loadAll(sink) {
      await streamSnapshot(path, sink);
      return null;
    },
    close: async () => {},
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "database-url": { type: "string" }, out: { type: "string" } } });
  if (!values["database-url"] || !values.out) {
    console.error("usage: node gpu-inference/feature-snapshot.ts --database-url postgres://… --out features.json");
    process.exit(2);
  }
  const src = postgresFeatureSource({ connectionString: values["database-url"] });
  const rows: VideoFeatureRow[] = [];
  try {
    await src.loadAll((batch) => rows.push(...batch));
  } finally {
    await src.close();
  }
  console.log(`wrote ${await writeSnapshot(values.out, rows)} videos to ${values.out}`);
}

if (import.meta.main) await main();
