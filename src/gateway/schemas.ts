/**
 * The gateway's request and response schemas: one TypeBox source for validation, TypeScript
 * types and the OpenAPI document. Unknown keys are refused (additionalProperties: false).
 */
import { type Static, Type } from "@sinclair/typebox";

const Strict = { additionalProperties: false } as const;

/**
 * Longest strings a request may carry. A model name and a runtime name reach indexed columns of
 * the store (PostgreSQL refuses an index entry past ~2.7 kB), so they stay well under it; a
 * prompt is bounded by the body limit before this bound is reached.
 */
const MAX_MODEL = 512;
const MAX_NAME = 64;
const MAX_PROMPT = 8 * 1024 * 1024;

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      field: Type.Optional(Type.String()),
    }),
  },
  { $id: "Error" },
);

export const Resources = Type.Object(
  {
    gpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    cpu: Type.Optional(Type.String({ pattern: "^[0-9]+(\\.[0-9]+)?m?$", maxLength: 32 })),
    memory: Type.Optional(Type.String({ pattern: "^[0-9]+(Ki|Mi|Gi|Ti|K|M|G|T)?$", maxLength: 32 })),
  },
  Strict,
);

export const DeployRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 512 }),
    runtime: Type.String({ minLength: 1, maxLength: 64 }),
    quant: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    resources: Type.Optional(Resources),
    target: Type.Optional(Type.Union([Type.Literal("local"), Type.Literal("kubernetes")])),
    engine_args: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 64 })),
  },
  Strict,
);
export type DeployRequest = Static<typeof DeployRequest>;

export const DeploymentView = Type.Object({
  id: Type.String(),
  model: Type.String(),
  runtime: Type.String(),
  quant: Type.Optional(Type.String()),
  target: Type.String(),
  replicas: Type.Integer(),
  status: Type.String(),
  endpoints: Type.Array(Type.String()),
  events: Type.Array(Type.Object({ at: Type.String(), kind: Type.String(), message: Type.String() })),
  last_error: Type.Optional(Type.String()),
  /** Settings of the request the runtime or the backend did not honour as asked. */
  warnings: Type.Optional(
    Type.Array(
      Type.Object({
        kind: Type.Literal("unsupported-setting"),
        field: Type.String(),
        message: Type.String(),
      }),
    ),
  ),
  created_at: Type.String(),
});
export type DeploymentView = Static<typeof DeploymentView>;

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, Strict);

export const InferRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: MAX_MODEL }),
    runtime: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NAME })),
    prompt: Type.String({ maxLength: MAX_PROMPT }),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    stream: Type.Optional(Type.Boolean()),
  },
  Strict,
);
export type InferRequest = Static<typeof InferRequest>;

export const BenchmarkRunRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: MAX_MODEL }),
    runtimes: Type.Array(Type.String({ minLength: 1, maxLength: MAX_NAME }), { minItems: 1, maxItems: 32 }),
    workloads: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1000 }),
  },
  { additionalProperties: true },
);

export const BenchmarkQuery = Type.Object(
  {
    model: Type.Optional(Type.String({ maxLength: MAX_MODEL })),
    runtime: Type.Optional(Type.String({ maxLength: MAX_NAME })),
    status: Type.Optional(
      Type.Union(
        ["queued", "running", "complete", "incomplete", "failed", "cancelled", "interrupted"].map((s) =>
          Type.Literal(s),
        ),
      ),
    ),
  },
  Strict,
);
