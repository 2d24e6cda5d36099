import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tryOrder, tryOrderLazy } from "../../edge/routing.ts";
import { repeatedQueryParam } from "../../shared/query-params.ts";
import { REGION_VALUES, type Region } from "../../shared/regions.ts";

// Issue 13's edge hit path skips work a HIT does not need; these shortcuts must answer exactly as the
// general path does.

/** The general rule: the first key URLSearchParams yields twice. */
function byUrlSearchParams(url: string): string | undefined {
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  const seen = new Set<string>();
  for (const k of new URLSearchParams(url.slice(q)).keys()) {
    if (seen.has(k)) return k;
    seen.add(k);
  }
  return undefined;
}

describe("repeated query parameters: the unescaped fast path agrees with URLSearchParams", () => {
  it("on the usual shapes", () => {
    for (const [url, dup] of [
      ["https://e/v1/feed", undefined], ["https://e/v1/feed?", undefined], ["https://e/v1/feed?count=5&count=abc", "count"],
      ["https://e/v1/feed?count=5&region=us", undefined], ["https://e/v1/feed?a&a", "a"], ["https://e/v1/feed?a=&a=1", "a"],
      ["https://e/v1/feed?&&count=1&&", undefined], ["https://e/v1/feed?=1&=2", ""], ["https://e/v1/feed?c%6Funt=1&count=2", "count"],
      ["https://e/v1/feed?a+b=1&a%20b=2", "a b"], ["https://e/v1/feed?x==1&x=2", "x"],
    ] as const) expect(repeatedQueryParam(url), url).toBe(dup);
  });

  it("on arbitrary query strings", () => {
    const part = fc.string({ unit: fc.constantFrom("a", "b", "=", "&", "%", "2", "0", "+", "c", "") , maxLength: 12 });
    fc.assert(fc.property(part, (q) => {
      const url = `https://edge.example/v1/feed?${q}`;
      expect(repeatedQueryParam(url)).toBe(byUrlSearchParams(url));
    }), { numRuns: 2000 });
  });
});

describe("tryOrderLazy: tryOrder's regions without reading the geo until a read goes past the preferred region", () => {
  const orders: Region[][] = [["us", "eu", "apac"], ["eu", "us", "apac"], ["apac", "eu"], ["us"], []];
  it("yields what tryOrder returns, for every preferred and geo region", () => {
    for (const candidates of orders) for (const preferred of REGION_VALUES) for (const geo of REGION_VALUES)
      expect([...tryOrderLazy(candidates, preferred, () => geo)]).toEqual(tryOrder(candidates, preferred, geo));
  });
  it("reads the geo only after the preferred region, when the route put it first", () => {
    let reads = 0;
    const it = tryOrderLazy(["eu", "us", "apac"], "eu", () => (reads++, "us"));
    expect(it.next().value).toBe("eu");
    expect(reads).toBe(0); // the first try (a cache HIT, usually) never touched request.cf
    expect([...it]).toEqual(["us", "apac"]);
    expect(reads).toBe(1);
    reads = 0;
    expect([...tryOrderLazy(["us", "eu"], "eu", () => (reads++, "us"))]).toEqual(tryOrder(["us", "eu"], "eu", "us"));
    expect(reads).toBe(1);
  });
});
