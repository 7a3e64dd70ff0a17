/**
 * Explains schema violations to people: every TypeBox error of a value becomes a problem naming the
 * field (`workloads[0].qps`) and the allowed values in words, with a "did you mean" for a near-miss
 * key or literal. Independent of any one schema, so any TypeBox-validated input (a config file, a
 * request body) can report its problems the same way.
 */
import type { TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";

/** One thing wrong with a config: where (`workloads[0].qps`) and what, with the allowed values. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/**
 * Every schema violation in `value`, each with its path and the allowed values. Union errors are
 * narrowed to the variant the value was evidently meant as (the object form sharing its keys), so
 * `{normal: {mean: 5}}` reports the missing `stdev` rather than "not one of four forms".
 */
export function schemaProblems(schema: TSchema, value: unknown, prefix = ""): ConfigProblem[] {
  const found: (ConfigProblem & { required?: boolean })[] = [];
  for (const error of Value.Errors(schema, value)) explain(error, found);
  // A missing required key also fails its type check at the same path: keep the "required" line.
  const required = new Set(found.filter((p) => p.required).map((p) => p.path));
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const p of found) {
    if (required.has(p.path) && !p.required) continue;
    const path = nestPath(prefix, p.path);
    const key = `${path}\0${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message: p.message });
  }
  return out;
}

function explain(error: ValueError, out: (ConfigProblem & { required?: boolean })[]): void {
  const path = pointerToPath(error.path);
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = unescapePointer(error.path.slice(error.path.lastIndexOf("/") + 1));
      const allowed = Object.keys((error.schema.properties ?? {}) as Record<string, unknown>);
      const near = closest(key, allowed);
      const hint = near === undefined ? "" : ` (did you mean "${near}"?)`;
      out.push({ path, message: `unknown key "${key}"${hint}; allowed keys: ${allowed.join(", ")}` });
      return;
    }
    case ValueErrorType.ObjectRequiredProperty:
      out.push({ path, required: true, message: `is required (${describeSchema(error.schema)})` });
      return;
    case ValueErrorType.Union: {
      const variant = intendedVariant(error.schema, error.value);
      const inner = variant === undefined ? undefined : error.errors[variant];
      if (inner) {
        for (const e of inner) explain(e, out);
        return;
      }
      out.push({
        path,
        message: `must be ${describeSchema(error.schema)}${got(error.value)}${unionHint(error.schema, error.value)}`,
      });
      return;
    }
    default:
      out.push({ path, message: `must be ${describeSchema(error.schema)}${got(error.value)}` });
  }
}

/** The object variant of a union that shares the most keys with `value`, when one stands out. */
function intendedVariant(schema: TSchema, value: unknown): number | undefined {
  if (!isPlainObject(value)) return undefined;
  const keys = Object.keys(value);
  let best: number | undefined;
  let bestScore = 0;
  let tie = false;
  (schema.anyOf as TSchema[]).forEach((variant, i) => {
    if (variant.type !== "object" || !variant.properties) return;
    const score = keys.filter((k) => k in (variant.properties as object)).length;
    if (score > bestScore) {
      best = i;
      bestScore = score;
      tie = false;
    } else if (score === bestScore && score > 0) {
      tie = true;
    }
  });
  return tie ? undefined : best;
}

/** "; did you mean …" for a near-miss string literal or object form key. */
function unionHint(schema: TSchema, value: unknown): string {
  const variants = (schema.anyOf ?? []) as TSchema[];
  let near: string | undefined;
  if (typeof value === "string") {
    const literals = variants.filter((v) => typeof v.const === "string").map((v) => v.const as string);
    near = closest(value, literals);
  } else if (isPlainObject(value)) {
    const keys = variants.flatMap((v) => (v.type === "object" ? Object.keys(v.properties ?? {}) : []));
    near = Object.keys(value)
      .map((k) => closest(k, keys))
      .find((k) => k !== undefined);
  }
  return near === undefined ? "" : `; did you mean "${near}"?`;
}

/** The candidate within two edits of `word` (fewer for short words), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(word.length / 2));
  for (const c of candidates) {
    // Lengths further apart than the distance sought cannot be near: a 1 MB key costs nothing.
    if (Math.abs(c.length - word.length) > bestDistance) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d <= bestDistance && c !== word) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: edits, with a swap of neighbours counting as one. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      const prev = d[i - 1]!;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}

function got(value: unknown): string {
  if (value === undefined) return "";
  let text = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return ` (got ${text})`;
}

/** A JSON object: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** "/workloads/0/qps" → "workloads[0].qps". */
function pointerToPath(pointer: string): string {
  if (pointer === "") return "";
  return pointer
    .slice(1)
    .split("/")
    .map(unescapePointer)
    .reduce<string>((path, seg) => joinPath(path, /^\d+$/.test(seg) ? Number(seg) : seg), "");
}

/** Appends a key or index to a config path: `workloads` + 0 → `workloads[0]`, + `qps` → `.qps`. */
export function joinPath(path: string, segment: string | number): string {
  if (typeof segment === "number") return `${path}[${segment}]`;
  if (!/^[A-Za-z_][\w-]*$/.test(segment)) return `${path}[${JSON.stringify(segment)}]`;
  return path === "" ? segment : `${path}.${segment}`;
}

/** Nests a whole path under a prefix: `cost` + `price` → `cost.price`. */
function nestPath(prefix: string, path: string): string {
  if (prefix === "" || path === "") return prefix + path;
  return path.startsWith("[") ? prefix + path : `${prefix}.${path}`;
}

/**
 * The allowed values of a schema in words, for error messages: a schema's `description` when it
 * has one, else a phrase built from its kind and bounds ("a number > 0", "an integer in [1, 50]").
 */
export function describeSchema(schema: TSchema): string {
  if (typeof schema.description === "string") return schema.description;
  if ("const" in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.anyOf)) return joinOr((schema.anyOf as TSchema[]).map(describeSchema));
  switch (schema.type) {
    case "integer":
      return `an integer${bounds(schema)}`;
    case "number":
      return `a number${bounds(schema)}`;
    case "string":
      return schema.minLength ? "a non-empty string" : "a string";
    case "boolean":
      return "true or false";
    case "array":
      return Array.isArray(schema.items)
        ? `[${(schema.items as TSchema[]).map(describeSchema).join(", ")}]`
        : `a list of ${describeSchema(schema.items as TSchema)}`;
    case "object": {
      const props = (schema.properties ?? {}) as Record<string, TSchema>;
      const required = new Set<string>((schema.required as string[] | undefined) ?? []);
      const keys = Object.keys(props).map((k) => (required.has(k) ? k : `${k}?`));
      return `an object {${keys.join(", ")}}`;
    }
    default:
      return "a valid value";
  }
}

/** One end of a range: exclusive when the schema sets the exclusive bound, else inclusive. */
function bound(exclusive: unknown, inclusive: unknown): { v: number; open: boolean } | undefined {
  if (exclusive !== undefined) return { v: exclusive as number, open: true };
  if (inclusive !== undefined) return { v: inclusive as number, open: false };
  return undefined;
}

function bounds(schema: TSchema): string {
  const lo = bound(schema.exclusiveMinimum, schema.minimum);
  const hi = bound(schema.exclusiveMaximum, schema.maximum);
  if (lo && hi) return ` in ${lo.open ? "(" : "["}${lo.v}, ${hi.v}${hi.open ? ")" : "]"}`;
  if (lo) return ` ${lo.open ? ">" : "≥"} ${lo.v}`;
  if (hi) return ` ${hi.open ? "<" : "≤"} ${hi.v}`;
  return "";
}

function joinOr(parts: string[]): string {
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} or ${parts[parts.length - 1]}`;
}
