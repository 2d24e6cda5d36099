// Snapshot and restore of a set of tables of one region database (the `videos` and `interactions` backup
// kinds, scripts/backup/kinds.ts).
//
// Snapshot: every listed table that exists, COPYed as CSV with a header inside one REPEATABLE READ READ
// ONLY transaction (one consistent moment while writes continue), plus manifest.json with row counts
// and columns. Restore: one transaction per call; each table is loaded into a temporary table (only the
// columns both the snapshot and today's table have, so a snapshot survives added columns), its row
// count checked against the manifest, and then written back by its TableRule:
//   replace → TRUNCATE + INSERT;
//   merge   → INSERT … ON CONFLICT DO NOTHING (missing rows come back, newer rows stay), or, with
//             `overwriteWhere`, ON CONFLICT (primary key) DO UPDATE of the rows matching it that differ
//             from the snapshot (keepColumns untouched, touchColumns set to now()).
// Any mismatch or SQL error rolls the whole restore back and rejects.
import { createReadStream, createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import type { TableRule } from "./kinds.ts";

export interface SnapshotManifest {
  kind: string;
  region: string;
  database: string;
  created_at: string;
  tables: Record<string, { rows: number; columns: string[] }>;
}

export interface RestoreReport {
  tables: Record<string, { snapshot_rows: number; written: number }>;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, statement_timeout: 600_000 });
  await c.connect();
  return c;
}

/** Columns of a live table (attnum order, no dropped or generated ones); empty when it does not exist. */
async function liveColumns(c: pg.Client, table: string): Promise<string[]> {
  const r = await c.query<{ attname: string }>(
    `SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`, [`public.${table}`]);
  return r.rows.map((x) => x.attname);
}

async function primaryKey(c: pg.Client, table: string): Promise<string[]> {
  const r = await c.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`, [`public.${table}`]);
  return r.rows.map((x) => x.attname);
}

/**
 * Writes `<outDir>/<table>.csv` for each existing table of `tables` and `<outDir>/manifest.json`.
 * Rejects on connection or COPY errors (a partial directory is left for the caller to remove).
 */
export async function snapshotTables(url: string, outDir: string, meta: { kind: string; region: string }, tables: string[]): Promise<SnapshotManifest> {
  mkdirSync(outDir, { recursive: true });
  const c = await connect(url);
  try {
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const out: SnapshotManifest["tables"] = {};
    for (const t of tables) {
      const cols = await liveColumns(c, t);
      if (!cols.length) continue; // not in this schema version
      const list = cols.map(ident).join(", ");
      await pipeline(c.query(copyTo(`COPY (SELECT ${list} FROM ${ident(t)}) TO STDOUT WITH (FORMAT csv, HEADER true)`)), createWriteStream(join(outDir, `${t}.csv`)));
      out[t] = { rows: Number((await c.query(`SELECT count(*) AS n FROM ${ident(t)}`)).rows[0].n), columns: cols };
    }
    await c.query("COMMIT");
    const manifest: SnapshotManifest = { ...meta, database: c.database ?? "", created_at: new Date().toISOString(), tables: out };
    writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await c.end();
  }
}

export function readSnapshotManifest(dir: string): SnapshotManifest {
  return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as SnapshotManifest;
}

/** SQL that writes the temp table `src` into `table` by its rule. */
async function writeBackSql(c: pg.Client, rule: TableRule, src: string, cols: string[], region: string): Promise<string> {
  const list = cols.map(ident).join(", ");
  const insert = `INSERT INTO ${ident(rule.table)} AS t (${list}) SELECT ${list} FROM ${src}`;
  if (rule.mode === "replace" || !rule.overwriteWhere) return `${insert} ON CONFLICT DO NOTHING`;
  const pk = await primaryKey(c, rule.table);
  if (!pk.length) throw new Error(`restore of ${rule.table}: overwrite needs a primary key`);
  const live = new Set(await liveColumns(c, rule.table));
  const touch = (rule.touchColumns ?? []).filter((x) => live.has(x));
  const set = cols.filter((x) => !pk.includes(x) && !(rule.keepColumns ?? []).includes(x) && !touch.includes(x));
  if (!set.length) return `${insert} ON CONFLICT DO NOTHING`;
  const assignments = [...set.map((x) => `${ident(x)} = EXCLUDED.${ident(x)}`), ...touch.map((x) => `${ident(x)} = now()`)].join(", ");
  const differs = `(${set.map((x) => `t.${ident(x)}`).join(", ")}) IS DISTINCT FROM (${set.map((x) => `EXCLUDED.${ident(x)}`).join(", ")})`;
  const where = rule.overwriteWhere.replaceAll("$region", `'${region.replace(/'/g, "''")}'`);
  return `${insert} ON CONFLICT (${pk.map(ident).join(", ")}) DO UPDATE SET ${assignments} WHERE (${where}) AND ${differs}`;
}

/**
 * Restores the tables of a snapshot directory into `url` by `rules` (tables missing on either side are
 * skipped), in one transaction. Rejects, with nothing changed, on a row-count mismatch or SQL error.
 */
export async function restoreTables(url: string, fromDir: string, rules: TableRule[], region: string): Promise<RestoreReport> {
  const manifest = readSnapshotManifest(fromDir);
  const c = await connect(url);
  const report: RestoreReport = { tables: {} };
  try {
    await c.query("BEGIN");
    for (const rule of rules) {
      const snap = manifest.tables[rule.table];
      const live = await liveColumns(c, rule.table);
      if (!snap || !live.length) continue;
      const cols = snap.columns.filter((x) => live.includes(x));
      const src = ident(`_restore_${rule.table}`);
      const shape = snap.columns.map((x) => (live.includes(x) ? ident(x) : `NULL::text AS ${ident(x)}`)).join(", ");
      await c.query(`CREATE TEMP TABLE ${src} ON COMMIT DROP AS SELECT ${shape} FROM ${ident(rule.table)} WITH NO DATA`);
      await pipeline(createReadStream(join(fromDir, `${rule.table}.csv`)),
        c.query(copyFrom(`COPY ${src} (${snap.columns.map(ident).join(", ")}) FROM STDIN WITH (FORMAT csv, HEADER true)`)));
      const n = Number((await c.query(`SELECT count(*) AS n FROM ${src}`)).rows[0].n);
      if (n !== snap.rows) throw new Error(`restore of ${rule.table}: ${n} rows in the file, manifest says ${snap.rows}`);
      if (rule.mode === "replace") await c.query(`TRUNCATE ${ident(rule.table)}`);
      const r = await c.query(await writeBackSql(c, rule, src, cols, region));
      report.tables[rule.table] = { snapshot_rows: n, written: r.rowCount ?? 0 };
    }
    // bigserial ids continue after the restored rows.
    for (const t of Object.keys(report.tables)) {
      if (!(await liveColumns(c, t)).includes("id")) continue;
      const seq = (await c.query<{ s: string | null }>(`SELECT pg_get_serial_sequence($1, 'id') AS s`, [t])).rows[0]?.s;
      if (seq) await c.query(`SELECT setval($1, GREATEST((SELECT max(id) FROM ${ident(t)}), 1))`, [seq]);
    }
    await c.query("COMMIT");
    return report;
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    await c.end();
  }
}
