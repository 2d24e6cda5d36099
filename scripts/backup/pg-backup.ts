import { createReadStream, createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";

// Logical backup of one region's database: every table's rows via COPY (text format) into a directory
// with a manifest of row counts, and a restore that reloads them in one transaction and verifies the
// counts before committing. The schema itself is code (shared/db/schema.ts) and is re-applied by
// startPostgres, so a backup carries data only. On Neon, point-in-time restore/branches are the first
// line; this is the portable copy (e.g. before a destructive migration or to move a region's data).
export const TABLES = ["users", "videos", "follows", "interactions", "ivf_centroids", "timeline_events", "video_likes"] as const;

export interface Manifest {
  database: string;
  created_at: string;
  tables: Record<string, number>;
}

export async function backupDatabase(connectionString: string, outDir: string): Promise<Manifest> {
  mkdirSync(outDir, { recursive: true });
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    // One snapshot for all tables: a consistent backup while writes continue.
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const tables: Record<string, number> = {};
    for (const t of TABLES) {
      await pipeline(c.query(copyTo(`COPY (SELECT * FROM ${t}) TO STDOUT`)), createWriteStream(join(outDir, `${t}.copy`)));
      tables[t] = Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    }
    await c.query("COMMIT");
    const manifest: Manifest = { database: c.database ?? "", created_at: new Date().toISOString(), tables };
    writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await c.end();
  }
}

export async function restoreDatabase(connectionString: string, fromDir: string): Promise<Manifest> {
  const manifest = JSON.parse(readFileSync(join(fromDir, "manifest.json"), "utf8")) as Manifest;
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    await c.query("BEGIN");
    await c.query(`TRUNCATE ${TABLES.join(", ")}`);
    for (const t of TABLES) {
      await pipeline(createReadStream(join(fromDir, `${t}.copy`)), c.query(copyFrom(`COPY ${t} FROM STDIN`)));
      const n = Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      if (n !== manifest.tables[t]) throw new Error(`restore of ${t}: ${n} rows, manifest says ${manifest.tables[t]}`);
    }
    // New interactions must not collide with restored ids.
    await c.query("SELECT setval(pg_get_serial_sequence('interactions', 'id'), GREATEST((SELECT max(id) FROM interactions), 1))");
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    await c.end();
  }
  return manifest;
}
