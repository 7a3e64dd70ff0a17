/**
 * The workload config file as users write it (snake_case keys), as TypeBox schemas: they validate
 * the file, give the raw TypeScript types, and carry the human description of every union that
 * error messages quote (schema-problems.ts). `config.ts` turns a valid file into the normalized
 * `BenchConfig` (types.ts), filling the defaults documented in docs/workloads.md.
 */
import { type Static, Type } from "@sinclair/typebox";

const strict = { additionalProperties: false } as const;

const PositiveNumber = () => Type.Number({ exclusiveMinimum: 0 });
const PositiveInteger = () => Type.Integer({ minimum: 1 });
const Seed = () => Type.Integer({ minimum: 0, maximum: 0xffffffff });
/**
 * Longest strings a config may hold. Names and the model reach indexed columns of the store
 * (PostgreSQL refuses an index entry past ~2.7 kB), so they stay well under it in any encoding.
 */
export const MAX_NAME_CHARS = 128;
export const MAX_MODEL_CHARS = 512;
export const MAX_PATH_CHARS = 4096;
export const MAX_URL_CHARS = 2048;

const FilePath = () =>
  Type.String({
    minLength: 1,
    maxLength: MAX_PATH_CHARS,
    description: `a file path of at most ${MAX_PATH_CHARS} characters`,
  });

const StallTimeout = () => Type.Number({ exclusiveMinimum: 0, description: "a number of seconds > 0" });
const ErrorFraction = () => Type.Number({ minimum: 0, maximum: 1, description: "a fraction in [0, 1]" });

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
    Type.Object(
      { jsonl: FilePath(), field: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NAME_CHARS })) },
      strict,
    ),
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

/** The machine a cost profile prices: a published cost is checked against the machine a run recorded. */
export const PricedHardwareSchema = Type.Object(
  {
    gpu: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_NAME_CHARS,
        description: "part of the GPU's name, e.g. H100",
      }),
    ),
    gpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024, description: "how many GPUs (0: none)" })),
    cpu: Type.Optional(
      Type.String({ minLength: 1, maxLength: MAX_NAME_CHARS, description: "part of the CPU's model name" }),
    ),
  },
  { ...strict, description: "{gpu?, gpus?, cpu?}" },
);
export type PricedHardwareFile = Static<typeof PricedHardwareSchema>;

export const HourlyCostSchema = Type.Object(
  { dollars_per_hour: PositiveNumber(), hardware: Type.Optional(PricedHardwareSchema) },
  strict,
);
export const AmortizedCostSchema = Type.Object(
  {
    hardware: Type.Optional(PricedHardwareSchema),
    price: PositiveNumber(),
    amortization_years: PositiveNumber(),
    utilization: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    power_watts: Type.Optional(Type.Number({ minimum: 0 })),
    dollars_per_kwh: Type.Optional(Type.Number({ minimum: 0 })),
  },
  strict,
);
const COST_FORMS =
  "{dollars_per_hour, hardware?} or {price, amortization_years, utilization?, power_watts?, dollars_per_kwh?, hardware?}";

/** What a cost profile file holds (configs/cost-profiles/*.yaml). */
export const CostProfileFileSchema = Type.Union([HourlyCostSchema, AmortizedCostSchema], {
  description: COST_FORMS,
});
export type CostProfileFile = Static<typeof CostProfileFileSchema>;

export const CostSchema = Type.Union(
  [Type.String({ minLength: 1, maxLength: MAX_PATH_CHARS }), HourlyCostSchema, AmortizedCostSchema],
  {
    description: `a path to a cost profile file, ${COST_FORMS}`,
  },
);
export type CostFile = Static<typeof CostSchema>;

export const SloSearchSchema = Type.Object(
  {
    attainment: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: "a fraction in (0, 1)" }),
    ),
    confidence: Type.Optional(
      Type.Number({ minimum: 0.5, exclusiveMaximum: 1, description: "a fraction in [0.5, 1)" }),
    ),
    tolerance: Type.Optional(
      Type.Number({ minimum: 0.01, maximum: 1, description: "a fraction in [0.01, 1]" }),
    ),
    max_points: Type.Optional(
      Type.Integer({ minimum: 2, maximum: 50, description: "an integer in [2, 50]" }),
    ),
    start_qps: Type.Optional(PositiveNumber()),
    max_qps: Type.Optional(PositiveNumber()),
  },
  { ...strict, description: "{attainment?, confidence?, tolerance?, max_points?, start_qps?, max_qps?}" },
);

export const SweepSchema = Type.Union(
  [
    Type.Object(
      { points: Type.Integer({ minimum: 1, maximum: 50, description: "an integer in [1, 50]" }) },
      strict,
    ),
    Type.Object({ search: SloSearchSchema }, strict),
  ],
  { description: "{points: an integer in [1, 50]} or {search: {attainment?, tolerance?, ...}}" },
);

export const RampSchema = Type.Object(
  {
    qps: Type.Optional(
      Type.Tuple([PositiveNumber(), PositiveNumber()], { description: "[from, to], each > 0" }),
    ),
    concurrency: Type.Optional(
      Type.Tuple([PositiveInteger(), PositiveInteger()], { description: "[from, to], integers ≥ 1" }),
    ),
    duration_s: PositiveNumber(),
    shape: Type.Optional(Type.Union([Type.Literal("linear"), Type.Literal("exponential")])),
    steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "an integer in [1, 100]" })),
  },
  { ...strict, description: "{qps: [from, to] | concurrency: [from, to], duration_s, shape?, steps?}" },
);

export const WorkloadSchema = Type.Object(
  {
    name: Type.String({
      pattern: NAME_PATTERN,
      maxLength: MAX_NAME_CHARS,
      description: `a name of letters, digits, "_", "." and "-" (at most ${MAX_NAME_CHARS})`,
    }),
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
    // Required unless the workload replays a trace (config-check.ts).
    prompt_len: Type.Optional(DistributionSchema),
    gen_tokens: Type.Optional(DistributionSchema),
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
    ramp: Type.Optional(RampSchema),
    trace: Type.Optional(
      Type.Object(
        {
          path: FilePath(),
          format: Type.Optional(Type.Union([Type.Literal("mooncake"), Type.Literal("plain")])),
          speedup: Type.Optional(PositiveNumber()),
          block_tokens: Type.Optional(PositiveInteger()),
        },
        { ...strict, description: "{path, format?, speedup?, block_tokens?}" },
      ),
    ),
    sessions: Type.Optional(
      Type.Object(
        {
          turns: DistributionSchema,
          think_ms: Type.Optional(
            Type.Union([Type.Literal(0), DistributionSchema], {
              description: "0 or a distribution of milliseconds (like prompt_len's)",
            }),
          ),
          system_prompt: Type.Optional(Type.Integer({ minimum: 0, description: "an integer ≥ 0" })),
          count: Type.Optional(PositiveInteger()),
        },
        { ...strict, description: "{turns, think_ms?, system_prompt?, count?}" },
      ),
    ),
    saturation: Type.Optional(
      Type.Object(
        {
          window_s: Type.Optional(PositiveNumber()),
          min_growth: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: "a number > 0" })),
        },
        { ...strict, description: "{window_s?, min_growth?}" },
      ),
    ),
    stall_timeout_s: Type.Optional(StallTimeout()),
    max_error_fraction: Type.Optional(ErrorFraction()),
  },
  {
    ...strict,
    description: "a workload {name, qps | concurrency | sweep | ramp, prompt_len, gen_tokens, ...}",
  },
);
export type WorkloadFile = Static<typeof WorkloadSchema>;

const TargetUrl = () =>
  Type.String({
    pattern: "^https?://\\S+$",
    maxLength: MAX_URL_CHARS,
    description: `an http:// or https:// URL of at most ${MAX_URL_CHARS} characters`,
  });

/** A server to attach to: its base URL, or the URL and the environment variable holding its API key. */
export const TargetSchema = Type.Union(
  [
    TargetUrl(),
    Type.Object(
      {
        url: TargetUrl(),
        api_key_env: Type.Optional(
          Type.String({
            pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
            maxLength: MAX_NAME_CHARS,
            description: "an environment variable name",
          }),
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
    model: Type.String({
      minLength: 1,
      maxLength: MAX_MODEL_CHARS,
      description: `a non-empty string of at most ${MAX_MODEL_CHARS} characters (a model name or reference)`,
    }),
    runtimes: Type.Array(Type.String({ pattern: NAME_PATTERN, maxLength: MAX_NAME_CHARS }), {
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
    stall_timeout_s: Type.Optional(StallTimeout()),
    max_error_fraction: Type.Optional(ErrorFraction()),
  },
  { ...strict, description: "a config object {model, runtimes, workloads, ...}" },
);
export type BenchConfigFile = Static<typeof BenchConfigFileSchema>;
