import type pg from "pg";
import { REGION_VALUES, type Region } from "../regions.ts";
import { PUBLISHED_TABLES } from "./replication-schema.ts";

// Publications and subscriptions between the region databases (Postgres logical replication, PG15+ for
// row filters and column lists, PG16+ for `origin = none`). Each region publishes only the global rows
// it owns (row filter on the owner column) and subscribes to the other two: 3 publications, 6
// subscriptions, a full mesh of one-way flows, so nothing loops and nothing private is ever published.
//
// Used by the local stack (scripts/stack.ts) and the integration tests; on Neon the same statements run
// once per project pair (README "Replication"). Creating the slot with pg_create_logical_replication_slot
// and the subscription with create_slot = false is required when publisher and subscriber share a
// cluster (locally: one embedded Postgres holds fyp_us/eu/apac) — CREATE SUBSCRIPTION would otherwise
// wait forever for its own transaction (PostgreSQL docs, CREATE SUBSCRIPTION, Notes).

export const publicationName = (r: Region) => `fyp_global_${r}`;
/** Subscription (in `to`) and slot (in `from`) of one flow. */
export const flowName = (from: Region, to: Region) => `fyp_${from}_to_${to}`;

export interface ReplicationTargets {
  /** Connect as a superuser (or a role with REPLICATION + pg_create_subscription) to a region's DB. */
  connect(region: Region): Promise<pg.Client>;
  /** libpq conninfo the subscriber in another region uses to reach `region`'s publisher. */
  conninfo(region: Region): string;
  regions?: readonly Region[];
}

/** CREATE/ALTER PUBLICATION statement of a region: owned rows only, the listed columns only. */
export function publicationSql(region: Region, exists: boolean): string {
  const tables = PUBLISHED_TABLES.map((t) => `${t.table}${t.columns ? ` (${t.columns.join(", ")})` : ""} WHERE (${t.owner} = '${region}')`);
  return exists
    ? `ALTER PUBLICATION ${publicationName(region)} SET TABLE ${tables.join(", ")}`
    : `CREATE PUBLICATION ${publicationName(region)} FOR TABLE ${tables.join(", ")} WITH (publish = 'insert, update')`;
}

async function withClient<T>(t: ReplicationTargets, r: Region, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await t.connect(r);
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => {});
  }
}

const pairs = (regions: readonly Region[]) => regions.flatMap((from) => regions.filter((to) => to !== from).map((to) => [from, to] as const));
const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Idempotently bring the mesh up: publications (re)defined, slots and subscriptions created where
 * missing (copy_data = false: the catalogue every region already holds is not copied again), existing
 * subscriptions enabled. Returns the flows it created.
 */
export async function ensureReplication(t: ReplicationTargets): Promise<string[]> {
  const regions = t.regions ?? REGION_VALUES;
  for (const r of regions) {
    await withClient(t, r, async (c) => {
      const have = (await c.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [publicationName(r)])).rowCount! > 0;
      await c.query(publicationSql(r, have));
    });
  }
  const created: string[] = [];
  for (const [from, to] of pairs(regions)) {
    const name = flowName(from, to);
    const exists = await withClient(t, to, async (c) => (await c.query("SELECT 1 FROM pg_subscription WHERE subname = $1", [name])).rowCount! > 0);
    if (exists) {
      await withClient(t, to, (c) => c.query(`ALTER SUBSCRIPTION ${name} ENABLE`));
      continue;
    }
    await withClient(t, from, async (c) => {
      const slot = await c.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [name]);
      if (!slot.rowCount) await c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
    });
    await withClient(t, to, (c) =>
      c.query(
        `CREATE SUBSCRIPTION ${name} CONNECTION ${quote(t.conninfo(from))} PUBLICATION ${publicationName(from)}
           WITH (create_slot = false, slot_name = ${quote(name)}, copy_data = false, origin = none)`,
      ),
    );
    created.push(name);
  }
  return created;
}

/** Stop applying (slots keep accumulating changes): the "cut" of the convergence tests. */
export async function setSubscriptionsEnabled(t: ReplicationTargets, enabled: boolean, only?: { from?: Region; to?: Region }): Promise<void> {
  for (const [from, to] of pairs(t.regions ?? REGION_VALUES)) {
    if ((only?.from && only.from !== from) || (only?.to && only.to !== to)) continue;
    const name = flowName(from, to);
    await withClient(t, to, async (c) => {
      const have = (await c.query("SELECT 1 FROM pg_subscription WHERE subname = $1", [name])).rowCount! > 0;
      if (have) await c.query(`ALTER SUBSCRIPTION ${name} ${enabled ? "ENABLE" : "DISABLE"}`);
    });
  }
}

/**
 * Drop every subscription and slot of the mesh (publications stay). Needed after a bulk reload that
 * every region did on its own (the seed): those changes sit in the slots and must not be applied again.
 */
export async function dropReplication(t: ReplicationTargets): Promise<void> {
  const regions = t.regions ?? REGION_VALUES;
  for (const [from, to] of pairs(regions)) {
    const name = flowName(from, to);
    await withClient(t, to, async (c) => {
      if (!(await c.query("SELECT 1 FROM pg_subscription WHERE subname = $1", [name])).rowCount) return;
      // Detach the slot first so DROP SUBSCRIPTION does not connect to the publisher.
      await c.query(`ALTER SUBSCRIPTION ${name} DISABLE`);
      await c.query(`ALTER SUBSCRIPTION ${name} SET (slot_name = NONE)`);
      await c.query(`DROP SUBSCRIPTION ${name}`);
    });
    await withClient(t, from, async (c) => {
      // A slot is briefly still active after its subscription stopped: retry for a few seconds.
      for (let i = 0; ; i++) {
        const s = await c.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [name]);
        if (!s.rowCount) return;
        if (!s.rows[0].active) {
          await c.query("SELECT pg_drop_replication_slot($1)", [name]);
          return;
        }
        if (i >= 50) throw new Error(`replication slot ${name} stays active`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  }
}

/** Creators' public profiles of the seeded catalogue (each region publishes its own residents'). */
export async function backfillCreatorProfiles(t: ReplicationTargets): Promise<number> {
  let n = 0;
  for (const r of t.regions ?? REGION_VALUES) {
    n += await withClient(t, r, async (c) => {
      const res = await c.query(
        `INSERT INTO creator_profiles (user_id, handle, home_region)
         SELECT u.user_id, u.handle, u.home_region FROM users u
          WHERE u.home_region = $1 AND EXISTS (SELECT 1 FROM videos v WHERE v.author_id = u.user_id)
         ON CONFLICT DO NOTHING`,
        [r],
      );
      return res.rowCount ?? 0;
    });
  }
  return n;
}
