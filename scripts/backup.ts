import { join } from "node:path";
import { parseArgs } from "node:util";
import { localPorts, regionDatabase } from "../shared/local-ports.ts";
import { isRegion } from "../shared/regions.ts";
import { backupDatabase, restoreDatabase } from "./backup/pg-backup.ts";

// `npm run backup -- --region eu [--pg-port 54329] [--out DIR]` and
// `npm run restore -- --region eu --from DIR [--pg-port 54329]`. DATABASE_URL overrides the local
// connection (e.g. a Neon branch).
const mode = process.argv[2] === "restore" ? "restore" : "backup";
const { values } = parseArgs({
  args: process.argv.slice(3),
  options: { region: { type: "string" }, "pg-port": { type: "string" }, out: { type: "string" }, from: { type: "string" } },
});
if (!values.region || !isRegion(values.region)) {
  console.error("--region us|eu|apac is required");
  process.exit(2);
}
const port = Number(values["pg-port"] ?? localPorts("dev").postgres);
const url = process.env.DATABASE_URL ?? `postgres://postgres:postgres@127.0.0.1:${port}/${regionDatabase(values.region)}`;
try {
  if (mode === "backup") {
    const dir = values.out ?? join("backups", `${values.region}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    const m = await backupDatabase(url, dir);
    console.log(`backup of ${values.region} → ${dir}: ${JSON.stringify(m.tables)}`);
  } else {
    if (!values.from) throw new Error("--from DIR is required");
    const m = await restoreDatabase(url, values.from);
    console.log(`restored ${values.region} from ${values.from}: ${JSON.stringify(m.tables)}`);
  }
} catch (e) {
  console.error(`${mode} failed: ${(e as Error).message}`);
  process.exit(1);
}
