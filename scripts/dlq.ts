import { parseArgs } from "node:util";
import { localPorts } from "../shared/local-ports.ts";
import { devSecrets } from "./local/dev-secrets.ts";

// `npm run dlq -- --list | --replay [--id ID ...] [--url URL]`: the events dead letters through the
// edge's admin API (GET /v1/admin/dlq, POST /v1/admin/dlq/replay). Defaults to the local stack; for a
// deployment pass --url and set ADMIN_TOKEN.
const { values } = parseArgs({
  options: {
    list: { type: "boolean" },
    replay: { type: "boolean" },
    id: { type: "string", multiple: true },
    url: { type: "string", default: process.env.FYP_EDGE_URL ?? `http://127.0.0.1:${localPorts("dev").edge}` },
  },
});
if (!values.list === !values.replay) {
  console.error("usage: npm run dlq -- --list | --replay [--id ID ...] [--url URL]");
  process.exit(2);
}
const headers = { authorization: `Bearer ${process.env.ADMIN_TOKEN ?? devSecrets.ADMIN_TOKEN}`, "content-type": "application/json" };
const signal = AbortSignal.timeout(15_000);
const res = values.list
  ? await fetch(`${values.url}/v1/admin/dlq`, { headers, signal })
  : await fetch(`${values.url}/v1/admin/dlq/replay`, { method: "POST", headers, signal, body: JSON.stringify(values.id?.length ? { ids: values.id } : {}) });
const body = (await res.json()) as Record<string, unknown>;
if (!res.ok) {
  console.error(`${res.status}: ${JSON.stringify(body)}`);
  process.exit(1);
}
if (values.list) {
  const { count, letters } = body as { count: number; letters: { id: string; parked_at: string; attempts: number; reason: string; body: { events?: unknown[] } }[] };
  console.log(`${count} dead letter(s)`);
  for (const l of letters) console.log(`${l.parked_at}  ${l.id}  events=${l.body?.events?.length ?? "?"}  attempts=${l.attempts}  ${l.reason}`);
} else {
  console.log(JSON.stringify(body));
}
