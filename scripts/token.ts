import { parseArgs } from "node:util";
import pg from "pg";
import { mintSessionToken } from "../shared/auth.ts";
import { parseUserId } from "../shared/ids.ts";
import { LOCAL_PG, REGIONS, localPorts, regionDatabase, type Region } from "../shared/local-ports.ts";
import { isRegion } from "../shared/regions.ts";
import { devSecrets } from "./local/dev-secrets.ts";

// `npm run token -- u42 [--region eu]`: a dev session token. Without --region the user's home region is
// looked up in the running local stack's databases (a user row lives only in its home region).
const { values, positionals } = parseArgs({ allowPositionals: true, options: { region: { type: "string" }, ttl: { type: "string", default: "86400" } } });
const user = positionals[0] ?? "u1";
if (parseUserId(user) === null) {
  console.error(`user id must look like u123 (got ${JSON.stringify(user)})`);
  process.exit(2);
}

async function homeRegion(): Promise<Region> {
  if (values.region) {
    if (!isRegion(values.region)) throw new Error("--region must be us, eu or apac");
    return values.region;
  }
  const port = localPorts("dev").postgres;
  for (const r of REGIONS) {
    const c = new pg.Client({ host: "127.0.0.1", port, database: regionDatabase(r), ...LOCAL_PG, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      const res = await c.query("SELECT home_region FROM users WHERE user_id = $1", [user.slice(1)]);
      if (res.rowCount) return res.rows[0].home_region as Region;
    } finally {
      await c.end().catch(() => {});
    }
  }
  throw new Error(`${user} not found in the local databases; pass --region`);
}

try {
  const region = await homeRegion();
  console.log(await mintSessionToken(devSecrets.SESSION_SECRET, user, region, Number(values.ttl)));
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
