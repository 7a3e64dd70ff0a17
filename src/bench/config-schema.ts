/**
 * The workload config file as users write it (snake_case keys), as TypeBox schemas: they validate
 * the file, give the raw TypeScript types, and carry the human description of every union that
 * error messages quote. `config.ts` turns a valid file into the normalized `BenchConfig`
 * (types.ts), filling the defaults documented in docs/workloads.md.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";

const strict = { additionalProperties: false } as const;

const PositiveNumber = () => Type.Number({ exclusiveMinimum: 0 });
const PositiveInteger = () => Type.Integer({ minimum: 1 });
const Seed = () => Type.Integer({ minimum: 0, maximum: 0xffffffff });
const FilePath = () => Type.String({ minLength: 1, description: "a file path" });

export const NAME_PATTERN = "^[A-Za-z0-9_.-]+$";

/** A token count drawn per request. */
export const DistributionSchema = Type.Union(
  [
    PositiveInteger(),
    Type.Object(
      { uniform: Type.Tuple([PositiveInteger(), PositiveInteger()], { description: "[min, max]" }) },
      strict,
    ),
    Type.Object(
      {
        normal: Type.Object(
          {
            mean: PositiveNumber(),
            stdev: Type.Number({ minimum: 0 }),
            min: Type.Optional(PositiveInteger()),
            max: Type.Optional(PositiveInteger()),
          },
          { ...strict, description: "{mean, stdev, min?, max?}" },
        ),
      },
      strict,
    ),
    Type.Object(
      {
        list: Type.Array(PositiveInteger(), { minItems: 1, description: "a non-empty list of integers ≥ 1" }),
      },
      strict,
    ),
  ],
  {
    description:
      "an integer ≥ 1, {uniform: [min, max]}, {normal: {mean, stdev, min?, max?}} or {list: [n, ...]}",
  },
);
export type DistributionFile = Static<typeof DistributionSchema>;

export const ArrivalSchema = Type.Union(
  [
    Type.Literal("poisson"),
    Type.Literal("constant"),
    Type.Object(
      {
        gamma: Type.Object(
          { burstiness: PositiveNumber() },
          { ...strict, description: "{burstiness: a number > 0}" },
        ),
      },
      strict,
    ),
  ],
  { description: '"poisson", "constant" or {gamma: {burstiness}}' },
);
export type ArrivalFile = Static<typeof ArrivalSchema>;

export const DatasetSchema = Type.Union(
  [
    Type.Literal("synthetic"),
    Type.Object({ sharegpt: FilePath() }, strict),
    Type.Object({ jsonl: FilePath(), field: Type.Optional(Type.String({ minLength: 1 })) }, strict),
  ],
  { description: '"synthetic", {sharegpt: path} or {jsonl: path, field?}' },
);
export type DatasetFile = Static<typeof DatasetSchema>;

export const WarmupSchema = Type.Union(
  [
    Type.Integer({ minimum: 0 }),
    Type.Object(
      {
        seconds: Type.Optional(Type.Number({ minimum: 0 })),
        requests: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      strict,
    ),
  ],
  { description: "a number of requests (integer ≥ 0), {requests: n} or {seconds: s}" },
);
export type WarmupFile = Static<typeof WarmupSchema>;

export const SloSchema = Type.Object(
  {
    ttft_ms: Type.Optional(PositiveNumber()),
    tpot_ms: Type.Optional(PositiveNumber()),
    e2e_ms: Type.Optional(PositiveNumber()),
  },
  { ...strict, description: "{ttft_ms?, tpot_ms?, e2e_ms?}" },
);
export type SloFile = Static<typeof SloSchema>;

export const HourlyCostSchema = Type.Object({ dollars_per_hour: PositiveNumber() }, strict);
export const AmortizedCostSchema = Type.Object(
  {
    price: PositiveNumber(),
    amortization_years: PositiveNumber(),
    utilization: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    power_watts: Type.Optional(Type.Number({ minimum: 0 })),
    dollars_per_kwh: Type.Optional(Type.Number({ minimum: 0 })),
  },
  strict,
);
const COST_FORMS =
  "{dollars_per_hour} or {price, amortization_years, utilization?, power_watts?, dollars_per_kwh?}";

/** What a cost profile file holds (configs/cost-profiles/*.yaml). */
export const CostProfileFileSchema = Type.Union([HourlyCostSchema, AmortizedCostSchema], {
  description: COST_FORMS,
});
export type CostProfileFile = Static<typeof CostProfileFileSchema>;

export const CostSchema = Type.Union([Type.String({ minLength: 1 }), HourlyCostSchema, AmortizedCostSchema], {
  description: `a path to a cost profile file, ${COST_FORMS}`,
});
export type CostFile = Static<typeof CostSchema>;

export const SweepSchema = Type.Object(
  { points: Type.Integer({ minimum: 1, maximum: 50 }) },
  { ...strict, description: "{points: an integer in [1, 50]}" },
);

export const WorkloadSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, description: 'a name of letters, digits, "_", "." and "-"' }),
    qps: Type.Optional(
      Type.Union([PositiveNumber(), Type.Literal("inf"), Type.Literal("max")], {
        description: 'a number > 0, "inf" or "max"',
      }),
    ),
    concurrency: Type.Optional(PositiveInteger()),
    max_concurrency: Type.Optional(PositiveInteger()),
    duration_s: Type.Optional(PositiveNumber()),
    num_requests: Type.Optional(PositiveInteger()),
    warmup: Type.Optional(WarmupSchema),
    prompt_len: DistributionSchema,
    gen_tokens: DistributionSchema,
    dataset: Type.Optional(DatasetSchema),
    prefix: Type.Optional(
      Type.Object(
        { length: Type.Integer({ minimum: 0 }), ratio: Type.Number({ minimum: 0, maximum: 1 }) },
        { ...strict, description: "{length, ratio}" },
      ),
    ),
    endpoint: Type.Optional(Type.Union([Type.Literal("completions"), Type.Literal("chat")])),
    stream: Type.Optional(Type.Boolean()),
    arrival: Type.Optional(ArrivalSchema),
    seed: Type.Optional(Seed()),
    slo: Type.Optional(SloSchema),
    sweep: Type.Optional(SweepSchema),
  },
  { ...strict, description: "a workload {name, qps | concurrency | sweep, prompt_len, gen_tokens, ...}" },
);
export type WorkloadFile = Static<typeof WorkloadSchema>;

const TargetUrl = () =>
  Type.String({ pattern: "^https?://\\S+$", description: "an http:// or https:// URL" });

/** A server to attach to: its base URL, or the URL and the environment variable holding its API key. */
export const TargetSchema = Type.Union(
  [
    TargetUrl(),
    Type.Object(
      {
        url: TargetUrl(),
        api_key_env: Type.Optional(
          Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description: "an environment variable name" }),
        ),
      },
      { ...strict, description: "{url, api_key_env?}" },
    ),
  ],
  { description: "an http:// or https:// URL or {url, api_key_env?}" },
);
export type TargetFile = Static<typeof TargetSchema>;

export const BenchConfigFileSchema = Type.Object(
  {
    model: Type.String({ minLength: 1 }),
    runtimes: Type.Array(Type.String({ pattern: NAME_PATTERN }), {
      minItems: 1,
      description: "a non-empty list of runtime names",
    }),
    workloads: Type.Array(WorkloadSchema, { minItems: 1, description: "a non-empty list of workloads" }),
    seed: Type.Optional(Seed()),
    targets: Type.Optional(
      Type.Record(Type.String(), TargetSchema, {
        description: "a map of runtime name → base URL or {url, api_key_env?}",
      }),
    ),
    cost: Type.Optional(CostSchema),
    slo: Type.Optional(SloSchema),
  },
  { ...strict, description: "a config object {model, runtimes, workloads, ...}" },
);
export type BenchConfigFile = Static<typeof BenchConfigFileSchema>;

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

function isPlainObject(value: unknown): value is Record<string, unknown> {
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

function bounds(schema: TSchema): string {
  const lo =
    schema.exclusiveMinimum !== undefined
      ? { v: schema.exclusiveMinimum as number, open: true }
      : schema.minimum !== undefined
        ? { v: schema.minimum as number, open: false }
        : undefined;
  const hi =
    schema.exclusiveMaximum !== undefined
      ? { v: schema.exclusiveMaximum as number, open: true }
      : schema.maximum !== undefined
        ? { v: schema.maximum as number, open: false }
        : undefined;
  if (lo && hi) return ` in ${lo.open ? "(" : "["}${lo.v}, ${hi.v}${hi.open ? ")" : "]"}`;
  if (lo) return ` ${lo.open ? ">" : "≥"} ${lo.v}`;
  if (hi) return ` ${hi.open ? "<" : "≤"} ${hi.v}`;
  return "";
}

function joinOr(parts: string[]): string {
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} or ${parts[parts.length - 1]}`;
}
