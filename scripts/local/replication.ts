import pg from "pg";
import { LOCAL_PG, regionDatabase } from "../../shared/local-ports.ts";
import type { Region } from "../../shared/regions.ts";
import {
  backfillCreatorProfiles, dropReplication, ensureReplication, setSubscriptionsEnabled, type ReplicationTargets,
} from "../../shared/db/replication-setup.ts";

// Local wiring of the catalogue replication (shared/db/replication-setup.ts): the three region databases
// live in one embedded Postgres cluster, so every flow connects back to 127.0.0.1:<port>.

export function localReplicationTargets(port: number): ReplicationTargets {
  return {
    async connect(region: Region) {
      const c = new pg.Client({ host: "127.0.0.1", port, database: regionDatabase(region), ...LOCAL_PG });
      c.on("error", () => {});
      await c.connect();
      return c;
    },
    conninfo: (region: Region) =>
      `host=127.0.0.1 port=${port} dbname=${regionDatabase(region)} user=${LOCAL_PG.user} password=${LOCAL_PG.password}`,
  };
}

/**
 * Runs the seed with replication paused, then brings the mesh up. The seed loads the same catalogue into
 * every region by itself: when it (re)loaded anything, the slots hold those bulk changes, which must not
 * be applied on top of the other regions' own copies, so the flows are recreated from "now".
 */
export async function seedWithReplication<T extends { skipped: boolean }>(
  port: number, seed: () => Promise<T>, log: (l: string) => void = () => {},
): Promise<T> {
  const t = localReplicationTargets(port);
  await setSubscriptionsEnabled(t, false);
  const result = await seed();
  if (!result.skipped) await dropReplication(t);
  const created = await ensureReplication(t);
  const profiles = await backfillCreatorProfiles(t);
  log(`      catalogue replication: ${created.length ? `created ${created.join(", ")}` : "6 flows resumed"}; ${profiles} creator profiles published`);
  return result;
}
