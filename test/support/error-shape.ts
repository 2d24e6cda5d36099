import { expect } from "vitest";

/** A fuzzed answer: below 500, and a 4xx carries the error shape (code + message) and no stack trace. */
export function expectShape(status: number, body: string, what: string): void {
  expect(status, what).toBeLessThan(500);
  if (status >= 400) {
    const j = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof j.error?.code, what).toBe("string");
    expect(typeof j.error?.message, what).toBe("string");
    expect(body, what).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack traces
  }
}
