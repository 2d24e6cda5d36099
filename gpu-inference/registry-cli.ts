// Operator commands for the model registry. Running ranking services pick up a changed `current`
// pointer on their next poll (MODEL_POLL_MS), so a rollback needs no restart.
//
//   node gpu-inference/registry-cli.ts --list                [--model-dir DIR]
//   node gpu-inference/registry-cli.ts --rollback            (to the version before the current one)
//   node gpu-inference/registry-cli.ts --rollback <version>  (to that version)
import { parseArgs } from "node:util";
import { DEFAULT_MODEL_DIR, ModelRegistry, type ModelMeta } from "./registry.ts";

const USAGE = `usage: node gpu-inference/registry-cli.ts (--list | --rollback [version]) [--model-dir DIR]`;

const f4 = (x: number | null) => (x === null || !Number.isFinite(x) ? "n/a" : x.toFixed(4));

function describe(v: ModelMeta, current: string | null): string {
  const mark = v.version === current ? "*" : " ";
  return `${mark} ${v.version}  auc ${f4(v.auc)} (baseline ${f4(v.baseline_auc)})  rows ${v.rows}  created ${v.created_at}`;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  // `--rollback` takes an optional value, which parseArgs cannot express: pull it out by hand.
  const args = [...argv];
  let rollback: string | true | undefined;
  const at = args.indexOf("--rollback");
  if (at >= 0) {
    const next = args[at + 1];
    rollback = next !== undefined && !next.startsWith("--") ? next : true;
    args.splice(at, rollback === true ? 1 : 2);
  }
  const { values } = parseArgs({ args, options: { list: { type: "boolean" }, "model-dir": { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help || (!values.list && rollback === undefined)) {
    console.log(USAGE);
    return values.help ? 0 : 1;
  }
  const reg = new ModelRegistry(values["model-dir"] ?? process.env.MODEL_DIR ?? DEFAULT_MODEL_DIR);
  if (rollback !== undefined) {
    const before = (await reg.readManifest()).current;
    const to = await reg.rollback(rollback === true ? undefined : rollback);
    console.log(`current: ${before ?? "(none)"} -> ${to.version} in ${reg.dir}`);
  }
  if (values.list) {
    const m = await reg.readManifest();
    if (m.versions.length === 0) console.log(`no models in ${reg.dir}`);
    for (const v of [...m.versions].reverse()) console.log(describe(v, m.current));
  }
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`[registry] ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
