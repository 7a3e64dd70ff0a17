/**
 * The simulated engine's performance model, as users write it (a JSON or YAML file with snake_case
 * keys, or the output of `tokenforge sim fit`): prefill throughput, per-sequence decode speed as a
 * function of batch size, a maximum batch, a KV-cache capacity in tokens, and a relative jitter.
 * One TypeBox schema validates the file and reports every bad field at once; `toPerfModel` turns a
 * valid file into the normalized `PerfModel` the engine (engine.ts) runs.
 */
import { readFileSync } from "node:fs";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parseJsonBounded, parseYamlBounded } from "../../bounded-parse.js";
import { TokenForgeError } from "../../errors.js";

export const PERF_SCHEMA = "tokenforge.sim.perf/v1";

const strict = { additionalProperties: false } as const;

const DecodeLinear = Type.Object(
  {
    base_ms: Type.Number({ minimum: 0, description: "step time of the decode part at batch 0, ms" }),
    per_seq_ms: Type.Number({ minimum: 0, description: "added to the step per sequence decoded, ms" }),
  },
  { ...strict, description: "{base_ms, per_seq_ms}" },
);

const DecodePoint = Type.Tuple([Type.Integer({ minimum: 1 }), Type.Number({ exclusiveMinimum: 0 })], {
  description: "[batch size ≥ 1, per-sequence tokens/s > 0]",
});

export const PerfModelSchema = Type.Object(
  {
    schema: Type.Optional(Type.Literal(PERF_SCHEMA)),
    prefill_tokens_per_s: Type.Number({ exclusiveMinimum: 0, description: "a number > 0" }),
    prefill_overhead_ms: Type.Optional(Type.Number({ minimum: 0, description: "a number ≥ 0" })),
    decode: Type.Optional(DecodeLinear),
    decode_tokens_per_s: Type.Optional(
      Type.Array(DecodePoint, { minItems: 1, description: "a non-empty list of [batch, tokens/s]" }),
    ),
    max_batch: Type.Integer({ minimum: 1, description: "an integer ≥ 1" }),
    max_batched_tokens: Type.Optional(Type.Integer({ minimum: 1, description: "an integer ≥ 1" })),
    kv_cache_tokens: Type.Integer({ minimum: 1, description: "an integer ≥ 1" }),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 0.9, description: "a fraction in [0, 0.9]" })),
    /** What `tokenforge sim fit` measured: kept with the model, never read by the engine. */
    fit: Type.Optional(Type.Unknown()),
  },
  strict,
);
export type PerfModelFile = Static<typeof PerfModelSchema>;

/** Decode step time as a function of the number of sequences decoded in the step. */
export type DecodeCurve =
  | { kind: "linear"; baseMs: number; perSeqMs: number }
  /** Per-sequence tokens/s at batch sizes, sorted by batch; step time interpolated between them. */
  | { kind: "points"; points: Array<[batch: number, tokensPerS: number]> };

/** The normalized model the engine runs. */
export interface PerfModel {
  prefillTokensPerS: number;
  /** Added once to a step that prefills anything (kernel launches, scheduling), ms. */
  prefillOverheadMs: number;
  decode: DecodeCurve;
  /** Sequences in the running batch at most (vLLM's max_num_seqs, llama.cpp's parallel slots). */
  maxBatch: number;
  /** KV-cache capacity; a sequence holds prompt + max_tokens of it from admission to its end. */
  kvCacheTokens: number;
  /**
   * Tokens one step processes at most (decodes first, then prompt chunks); unset, a step prefills
   * every admitted prompt whole. vLLM's max_num_batched_tokens, llama.cpp's batch size.
   */
  maxBatchedTokens?: number;
  /** Each step's duration is scaled by a seeded uniform factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

/** A performance model file that does not validate; `problems` lists every bad field. */
export class PerfModelError extends TokenForgeError {
  constructor(readonly problems: Array<{ path: string; message: string }>) {
    super(
      "invalid_request",
      `invalid performance model: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
      { field: problems[0]?.path ?? "perf" },
    );
    this.name = "PerfModelError";
  }
}

/** Step time of the decode part for `batch` sequences, ms (0 for an empty batch). */
export function decodeStepMs(curve: DecodeCurve, batch: number): number {
  if (batch <= 0) return 0;
  switch (curve.kind) {
    case "linear":
      return curve.baseMs + curve.perSeqMs * batch;
    case "points": {
      const pts = curve.points;
      const step = (i: number) => 1000 / pts[i]![1];
      if (pts.length === 1 || batch <= pts[0]![0]) return step(0);
      const last = pts.length - 1;
      let i = 1;
      while (i < last && pts[i]![0] < batch) i++;
      const [b0, b1] = [pts[i - 1]![0], pts[i]![0]];
      // Linear in step time between two points, and along the last segment past the end.
      return step(i - 1) + ((step(i) - step(i - 1)) * (batch - b0)) / (b1 - b0);
    }
    default:
      return curve satisfies never;
  }
}

/** Validates a parsed file (every problem at once) and normalizes it. */
export function toPerfModel(raw: unknown): PerfModel {
  const problems: Array<{ path: string; message: string }> = [];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new PerfModelError([{ path: "perf", message: "must be an object" }]);
  }
  for (const e of Value.Errors(PerfModelSchema, raw)) {
    const path = e.path.replace(/^\//, "").replaceAll("/", ".") || "perf";
    if (problems.some((p) => p.path === path)) continue;
    problems.push({ path, message: e.schema.description ? `must be ${e.schema.description}` : e.message });
  }
  const file = raw as PerfModelFile;
  if (problems.length === 0) {
    if ((file.decode === undefined) === (file.decode_tokens_per_s === undefined))
      problems.push({ path: "decode", message: "give exactly one of decode and decode_tokens_per_s" });
    const pts = file.decode_tokens_per_s ?? [];
    for (let i = 1; i < pts.length; i++)
      if (pts[i]![0] <= pts[i - 1]![0])
        problems.push({ path: `decode_tokens_per_s.${i}`, message: "batch sizes must increase" });
    if (file.max_batched_tokens !== undefined && file.max_batched_tokens < file.max_batch)
      problems.push({
        path: "max_batched_tokens",
        message: `must be ≥ max_batch (${file.max_batch}): every running sequence decodes a token each step`,
      });
  }
  if (problems.length > 0) throw new PerfModelError(problems);
  const decode: DecodeCurve = file.decode
    ? { kind: "linear", baseMs: file.decode.base_ms, perSeqMs: file.decode.per_seq_ms }
    : { kind: "points", points: file.decode_tokens_per_s!.map(([b, t]) => [b, t]) };
  if (decode.kind === "linear" && decodeStepMs(decode, 1) <= 0)
    throw new PerfModelError([{ path: "decode", message: "base_ms + per_seq_ms must be > 0" }]);
  return {
    prefillTokensPerS: file.prefill_tokens_per_s,
    prefillOverheadMs: file.prefill_overhead_ms ?? 0,
    decode,
    maxBatch: file.max_batch,
    kvCacheTokens: file.kv_cache_tokens,
    ...(file.max_batched_tokens === undefined ? {} : { maxBatchedTokens: file.max_batched_tokens }),
    jitter: file.jitter ?? 0,
  };
}

/** The file form of a model (what `sim fit` writes). */
export function toPerfModelFile(m: PerfModel, fit?: unknown): PerfModelFile {
  return {
    schema: PERF_SCHEMA,
    prefill_tokens_per_s: m.prefillTokensPerS,
    prefill_overhead_ms: m.prefillOverheadMs,
    ...(m.decode.kind === "linear"
      ? { decode: { base_ms: m.decode.baseMs, per_seq_ms: m.decode.perSeqMs } }
      : { decode_tokens_per_s: m.decode.points.map(([b, t]) => [b, t] as [number, number]) }),
    max_batch: m.maxBatch,
    kv_cache_tokens: m.kvCacheTokens,
    ...(m.maxBatchedTokens === undefined ? {} : { max_batched_tokens: m.maxBatchedTokens }),
    ...(m.jitter === 0 ? {} : { jitter: m.jitter }),
    ...(fit === undefined ? {} : { fit }),
  };
}

/**
 * Reads a model from a path (JSON or YAML) or, when the argument starts with `{`, from inline
 * JSON (handy for a deployment's engine args, where no file travels with the worker).
 */
export function loadPerfModel(pathOrJson: string): PerfModel {
  const inline = pathOrJson.trimStart().startsWith("{");
  let text: string;
  if (inline) text = pathOrJson;
  else {
    try {
      text = readFileSync(pathOrJson, "utf8");
    } catch (err) {
      throw new TokenForgeError(
        "invalid_request",
        `perf: cannot read ${pathOrJson}: ${(err as Error).message}`,
        {
          field: "perf",
        },
      );
    }
  }
  // Within the bounds every config is read with: size, nesting, YAML aliases.
  const parsed = inline ? parseJsonBounded(text) : parseYamlBounded(text);
  if (!parsed.ok) {
    const why = parsed.problems.join("; ").replace(/^not valid (JSON|YAML): /, "");
    throw new PerfModelError([
      { path: "perf", message: `is not valid ${inline ? "JSON" : "JSON or YAML"}: ${why}` },
    ]);
  }
  return toPerfModel(parsed.value);
}

/** One line describing a model, for logs and tables. */
export function describePerfModel(m: PerfModel): string {
  const tps = (b: number) => (1000 / decodeStepMs(m.decode, b)).toFixed(1);
  return (
    `prefill ${m.prefillTokensPerS.toFixed(0)} tok/s (+${m.prefillOverheadMs.toFixed(1)} ms), ` +
    `decode ${tps(1)} tok/s per sequence at batch 1, ${tps(m.maxBatch)} at ${m.maxBatch}, ` +
    `max batch ${m.maxBatch}, KV cache ${m.kvCacheTokens} tokens` +
    (m.maxBatchedTokens === undefined ? "" : `, ${m.maxBatchedTokens} tokens a step`) +
    (m.jitter > 0 ? `, jitter ±${(m.jitter * 100).toFixed(0)}%` : "")
  );
}
