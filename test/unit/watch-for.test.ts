import { describe, expect, it } from "vitest";
import { watchFor } from "../../scripts/local/embedded-postgres.ts";

// Postgres readiness is read from its log: after a crash, clients flood it with "starting up" refusals,
// so the ready line arrives in the middle of a large chunk (a 60 s start timeout was once hit that way).
const READY = "database system is ready to accept connections";
const refusal = "FATAL:  the database system is not yet accepting connections\n";

describe("watchFor", () => {
  it("finds the line in the middle of a chunk full of other lines", () => {
    const w = watchFor(READY);
    expect(w(refusal.repeat(50))).toBe(false);
    expect(w(`${refusal.repeat(20)}LOG:  ${READY}\n${refusal.repeat(20)}`)).toBe(true);
  });

  it("finds the line split across chunks, and not a part of it", () => {
    const w = watchFor(READY);
    expect(w(`${refusal}LOG:  database system is re`)).toBe(false);
    expect(w(`ady to accept connections\n${refusal}`)).toBe(true);
    expect(watchFor(READY)("database system is ready to accept")).toBe(false);
  });
});
