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

/** A 4xx response's body, asserted to be the contract's error shape; returns it parsed. */
export async function expectErrorShape(res: Response): Promise<{ error: { code: string; message: string; field?: string } }> {
  const body = await res.text();
  expectShape(res.status, body, `${res.status} ${res.url}`);
  return JSON.parse(body) as { error: { code: string; message: string; field?: string } };
}
