/**
 * Generated request bodies for the property tests and bench/fuzz.ts: for one schema, a valid
 * base mutated (a field dropped, replaced by a value of another type, an unknown key added, a
 * string made huge or exotic), any JSON value, JSON nested far past the depth limit, and text that
 * is not JSON at all. Each input is the body's text and its content type, as a client sends it.
 */
import fc from "fast-check";

export interface BodyInput {
  payload: string;
  contentType: string;
  /** What kind of input it is, for the figures. */
  kind: "valid" | "mutated" | "json" | "deep" | "not-json";
}

/** Strings as callers send them: short, unicode (astral and lone surrogates), huge, and key-like. */
export const anyString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 16 }) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 4 })
        .map((units) => String.fromCharCode(...units)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom("a", "é", "😀", "\u0000", "[", '"'), fc.integer({ min: 600, max: 60_000 }))
        .map(([c, n]) => c.repeat(n)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom("__proto__", "constructor", "prototype", "", " ", "null", "NaN"),
    },
  );

/** Any JSON value, with exotic strings and keys, a few levels deep. */
export const anyJson = (): fc.Arbitrary<unknown> =>
  fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(0, -1, 1e308, -1e-308, 2 ** 53, 2 ** 32, 0.5),
      anyString(),
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(anyString(), tie("value"), { maxKeys: 5 }),
    ),
  })).value;

/** JSON nested `depth` deep, as arrays or objects, with a value of the schema around it. */
export const deepJson = (): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min: 65, max: 6000 }), fc.boolean(), fc.constantFrom("", '{"model":"m","prompt":'))
    .map(([depth, arrays, prefix]) => {
      const inner = arrays
        ? `${"[".repeat(depth)}${"]".repeat(depth)}`
        : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
      return prefix === "" ? inner : `${prefix}${inner}}`;
    });

/** Text that is not JSON: truncated, garbage, empty, a JSON value followed by junk. */
export const notJson = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom("", " ", "{", '{"model": "m",', "[1,2", "nul", "{'a': 1}", '{"a":1} x', "\u0000"),
    fc.string({ unit: "binary", maxLength: 64 }),
  );

/**
 * A valid base mutated once or a few times: each step drops a key, sets a key (known or not) to
 * any value, or replaces a string with a huge or exotic one.
 */
export function mutated(
  base: fc.Arbitrary<Record<string, unknown>>,
  keys: readonly string[],
): fc.Arbitrary<unknown> {
  const step = fc.oneof(
    fc.record({ op: fc.constant("drop" as const), key: fc.constantFrom(...keys) }),
    fc.record({ op: fc.constant("set" as const), key: fc.constantFrom(...keys), value: anyJson() }),
    fc.record({ op: fc.constant("set" as const), key: anyString(), value: anyJson() }),
    fc.record({ op: fc.constant("set" as const), key: fc.constantFrom(...keys), value: anyString() }),
  );
  return fc.tuple(base, fc.array(step, { minLength: 1, maxLength: 3 })).map(([b, steps]) => {
    const out: Record<string, unknown> = { ...b };
    for (const s of steps) {
      if (s.op === "drop") delete out[s.key];
      else
        Object.defineProperty(out, s.key, {
          value: s.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return out;
  });
}

/** The body inputs of one schema, from its valid bases, with a weight for each kind. */
export function bodies(
  valid: fc.Arbitrary<Record<string, unknown>>,
  keys: readonly string[],
): fc.Arbitrary<BodyInput> {
  const json = (kind: BodyInput["kind"]) => (v: unknown) => ({
    payload: JSON.stringify(v) ?? "null",
    contentType: "application/json",
    kind,
  });
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(json("valid")) },
    { weight: 8, arbitrary: mutated(valid, keys).map(json("mutated")) },
    { weight: 3, arbitrary: anyJson().map(json("json")) },
    {
      weight: 1,
      arbitrary: deepJson().map((payload) => ({
        payload,
        contentType: "application/json",
        kind: "deep" as const,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          notJson(),
          fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded"),
        )
        .map(([payload, contentType]) => ({ payload, contentType, kind: "not-json" as const })),
    },
  );
}

/** Settles with the promise, or rejects after `ms` naming what hung. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short description of an input for a failure message. */
export function describeInput(i: BodyInput): string {
  const text = i.payload.length > 300 ? `${i.payload.slice(0, 300)}… (${i.payload.length} chars)` : i.payload;
  return `${i.kind} ${i.contentType} ${JSON.stringify(text)}`;
}
