import fc from "fast-check";
import { z } from "zod";

// fast-check arbitraries generated from our zod (v4) schemas, so fuzzing follows the contract as it
// changes instead of hand-copied field lists. zod-fast-check (npm) only understands zod 3, so this walks
// the schema's JSON Schema (`z.toJSONSchema`, input side) for the subset the contract uses: objects
// (required/optional, closed), arrays, enums, consts, integers/numbers with bounds, strings with length,
// pattern or date-time format, booleans, nulls and unions. Refinements JSON Schema cannot express
// (e.g. "video_id required for views") are applied by filtering through the schema itself, so
// `validFor` yields only values the schema accepts and `invalidFor` only values it rejects.

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

/** Arrays are capped so one generated body stays a reasonable request. */
const MAX_ITEMS = 5;

function fromJsonSchema(s: JsonSchema): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const union = s.anyOf ?? s.oneOf;
  if (union) return fc.oneof(...union.map(fromJsonSchema));
  if (Array.isArray(s.type)) return fc.oneof(...s.type.map((type) => fromJsonSchema({ ...s, type })));
  switch (s.type) {
    case "object": {
      const props = s.properties ?? {};
      const arbs = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, fromJsonSchema(v)]));
      return fc.record(arbs, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
    }
    case "array": {
      const minLength = s.minItems ?? 0;
      return fc.array(fromJsonSchema(s.items ?? {}), { minLength, maxLength: Math.max(minLength, Math.min(s.maxItems ?? MAX_ITEMS, MAX_ITEMS)) });
    }
    case "integer":
      return fc.integer({ min: Math.max(s.minimum ?? Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER), max: Math.min(s.maximum ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) });
    case "number":
      return fc.double({ min: s.minimum ?? -1e12, max: s.maximum ?? 1e12, noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "string": {
      // Storable event times end now (shared/contract.ts EventTimestampSchema).
      if (s.format === "date-time")
        return fc.date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date(), noInvalidDate: true }).map((d) => d.toISOString());
      const min = s.minLength ?? 0;
      const max = s.maxLength ?? 64;
      if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= min && v.length <= max);
      return fc.string({ unit: "grapheme", minLength: min, maxLength: Math.min(max, 64) });
    }
    default:
      return fc.jsonValue(); // unconstrained
  }
}

const memo = new WeakMap<z.ZodType, fc.Arbitrary<unknown>>();
function raw(schema: z.ZodType): fc.Arbitrary<unknown> {
  let a = memo.get(schema);
  if (!a) {
    a = fromJsonSchema(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema);
    memo.set(schema, a);
  }
  return a;
}

/** Values the schema accepts (generated from its JSON Schema, refinements enforced by the schema). */
export function validFor<T extends z.ZodType>(schema: T): fc.Arbitrary<z.input<T>> {
  return raw(schema).filter((v) => schema.safeParse(v).success) as fc.Arbitrary<z.input<T>>;
}

/** Hostile stand-ins for a field: wrong types, out-of-range and overflowing numbers, odd strings. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary", maxLength: 50 }), fc.integer(), fc.double(), fc.bigInt().map(String),
  fc.constant(null), fc.constant(-1), fc.constant(2 ** 63), fc.constant(Number.MAX_SAFE_INTEGER * 10), fc.constant(""), fc.constant("v0"), fc.constant("u-1"),
  fc.constant("\u0000"), fc.constant("🎬".repeat(40)), fc.array(fc.anything(), { maxLength: 3 }), fc.object(),
);

/** Deep paths of a generated value's object fields ("events.0.video_id" style, as arrays of keys). */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => paths(x, [...prefix, i]));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]);
  return [];
}

function mutate(v: unknown, path: (string | number)[], replacement: { drop: boolean; value: unknown }): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (replacement.drop && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement.value;
  return copy;
}

/**
 * Values the schema rejects: a valid value with one field (at any depth) dropped or replaced by a hostile
 * value, or an unknown field added — kept only when the schema really rejects the result.
 */
export function invalidFor<T extends z.ZodType>(schema: T): fc.Arbitrary<unknown> {
  const mutated = validFor(schema).chain((v) => {
    const ps = paths(v);
    const extra = fc.tuple(fc.stringMatching(/^[a-z_]{1,12}$/), nastyValue).map(([k, x]) => (v && typeof v === "object" && !Array.isArray(v) ? { ...v, [`x_${k}`]: x } : x));
    if (!ps.length) return fc.oneof(nastyValue, extra);
    return fc.oneof(
      fc.tuple(fc.constantFrom(...ps), fc.boolean(), nastyValue).map(([p, drop, value]) => mutate(v, p, { drop, value })),
      extra,
    );
  });
  return fc.oneof(mutated, nastyValue).filter((v) => !schema.safeParse(v).success);
}
