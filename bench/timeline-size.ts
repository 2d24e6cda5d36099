// Bytes one timeline event costs on Postgres (the input of the bucket rule in origin/timeline/buckets.ts):
// appends TIMELINE_SIZE_EVENTS events (default 200,000) of realistic shape through the Postgres adapter
// into a fresh embedded server, then divides the table's total size (heap + TOAST + all indexes) by the
// row count, and reports the append throughput. `node bench/timeline-size.ts`
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOUR_MS, MAX_PARTITION_BYTES, TIMELINE_BYTES_PER_EVENT } from "../origin/timeline/buckets.ts";
import { PostgresTimelineStore } from "../origin/timeline/postgres.ts";
import type { TimelineEvent } from "../origin/timeline/types.ts";
import { freePort } from "../scripts/local/free-port.ts";
import { startPostgres } from "../scripts/local/postgres.ts";
import { pgSqlClient } from "../scripts/timeline/pg-sql-client.ts";

const N = Number(process.env.TIMELINE_SIZE_EVENTS ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), "fyp-tlsize-"));
const pgs = await startPostgres({ dataDir: join(dir, "pg"), port: await freePort() });
const sql = pgSqlClient(pgs.url("fyp_us"));
try {
  const store = new PostgresTimelineStore(sql);
  const t0 = Date.now() - 24 * HOUR_MS;
  const types = ["view", "view", "view", "view", "view", "view", "view", "like", "share", "skip"] as const;
  const t = performance.now();
  for (let i = 0; i < N; i += 5000) {
    const batch: TimelineEvent[] = [];
    for (let j = i; j < Math.min(N, i + 5000); j++) {
      const type = types[j % types.length];
      batch.push({ videoId: String(1 + (j % 2000)), tsMs: t0 + Math.floor((j / N) * 24 * HOUR_MS), eventId: `${100000 + (j % 9973)}:k-${j.toString(36)}-${(j * 7919).toString(36)}`,
        type, userId: String(100000 + (j % 9973)), region: "us", watchMs: type === "view" ? 3000 + (j % 20000) : null });
    }
    await store.append(batch);
  }
  const appendS = (performance.now() - t) / 1000;
  await sql.query("VACUUM ANALYZE timeline_events", [], 120_000);
  const [r] = await sql.query<{ rows: string; total: string; heap: string }>(
    `SELECT (SELECT count(*) FROM timeline_events)::text AS rows,
            (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'timeline_events'::regclass)::text AS total,
            (SELECT sum(pg_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'timeline_events'::regclass)::text AS heap`, [], 60_000);
  const perEvent = Number(r.total) / Number(r.rows);
  console.log(`timeline events: ${r.rows} rows, total ${(Number(r.total) / 1e6).toFixed(1)} MB (heap ${(Number(r.heap) / 1e6).toFixed(1)} MB)`);
  console.log(`bytes per event: ${perEvent.toFixed(0)} total, ${(Number(r.heap) / Number(r.rows)).toFixed(0)} heap (rule uses ${TIMELINE_BYTES_PER_EVENT})`);
  console.log(`events per ${MAX_PARTITION_BYTES / 1e6} MB partition at the measured size: ${Math.floor(MAX_PARTITION_BYTES / perEvent).toLocaleString("en-US")}`);
  console.log(`append: ${(N / appendS).toFixed(0)} events/s in batches of 5,000 (${appendS.toFixed(1)} s)`);
} finally {
  await sql.end();
  await pgs.stop();
  rmSync(dir, { recursive: true, force: true });
}
