/** The simulated server's options (`startSimServer`), their defaults and their checks. */
import type { PerfModel } from "./perf-model.js";

export interface SimOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Delay from the request body being read to the first content chunk, ms. Default 0. */
  ttftMs?: number;
  /** Delay between content chunks, ms. Default 0. */
  itlMs?: number;
  /** Uniform ±jitter added to each delay (seeded; a delay never goes below 0), ms. Default 0. */
  jitterMs?: number;
  /** Tokens per reply when set; else the request's max_tokens (16 if absent). */
  outputTokens?: number;
  /** Tokens carried by each content chunk (the last one may carry fewer). Default 1. */
  tokensPerChunk?: number;
  /** Seed of the jitter's generator. Default 0. */
  seed?: number;
  /** The model id served; a request naming another gets a 404. Default "sim". */
  model?: string;
  /**
   * Before the first token, write a chunk with empty content; for chat, a role-only delta, an
   * empty-content delta and a reasoning_content-only delta. Written at once on receipt.
   */
  leadingEmptyChunk?: boolean;
  /** Added to the completion_tokens reported in usage (to test mismatch detection). Default 0. */
  usageSkew?: number;
  /**
   * Chat streams: the first this many tokens of a reply are reasoning, streamed as
   * `delta.reasoning_content` (a reasoning model's thinking) and counted in usage's
   * `completion_tokens_details.reasoning_tokens`; at least the last chunk stays an answer. Default 0.
   */
  reasoningTokens?: number;
  /** Every Nth generation request (1-based count) answers 500 with an OpenAI error body. */
  errorEvery?: number;
  /** Keep a ground-truth record per generation request. Default true. */
  recordGroundTruth?: boolean;
  /**
   * With zero delays, write every chunk with its own socket write, as a server emitting tokens one
   * at a time does, instead of one coalesced write per reply. Default false.
   */
  writeEach?: boolean;
  /** At most this many records are kept; later ones are dropped (and counted). Default 100,000. */
  groundTruthLimit?: number;
  /** Context length: prompt plus max_tokens above it is refused (400). Default 131,072. */
  maxModelLen?: number;
  /** Request bodies above this get 413. Default 16 MiB. */
  maxBodyBytes?: number;
  /**
   * Time every generation by this performance model (engine.ts: continuous batching, a maximum
   * batch, a KV cache with queueing) instead of fixed delays. Excludes ttftMs, itlMs, jitterMs and
   * tokensPerChunk > 1; the model's jitter is drawn from `seed`.
   */
  perf?: PerfModel;
}

/** Defaults filled and every option checked (a RangeError names the bad one). */
export function resolveOptions(opts: SimOptions) {
  const num = (name: string, v: number | undefined, dflt: number, min: number, integer: boolean): number => {
    const x = v ?? dflt;
    if (typeof x !== "number" || !Number.isFinite(x) || x < min || (integer && !Number.isInteger(x)))
      throw new RangeError(`sim: ${name} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${v}`);
    return x;
  };
  return {
    host: opts.host ?? "127.0.0.1",
    port: num("port", opts.port, 0, 0, true),
    ttftMs: num("ttftMs", opts.ttftMs, 0, 0, false),
    itlMs: num("itlMs", opts.itlMs, 0, 0, false),
    jitterMs: num("jitterMs", opts.jitterMs, 0, 0, false),
    outputTokens:
      opts.outputTokens === undefined ? undefined : num("outputTokens", opts.outputTokens, 1, 1, true),
    tokensPerChunk: num("tokensPerChunk", opts.tokensPerChunk, 1, 1, true),
    seed: num("seed", opts.seed, 0, Number.MIN_SAFE_INTEGER, true),
    model: opts.model ?? "sim",
    leadingEmptyChunk: opts.leadingEmptyChunk ?? false,
    usageSkew: num("usageSkew", opts.usageSkew, 0, Number.MIN_SAFE_INTEGER, true),
    reasoningTokens: num("reasoningTokens", opts.reasoningTokens, 0, 0, true),
    errorEvery: opts.errorEvery === undefined ? 0 : num("errorEvery", opts.errorEvery, 0, 0, true),
    recordGroundTruth: opts.recordGroundTruth ?? true,
    writeEach: opts.writeEach ?? false,
    groundTruthLimit: num("groundTruthLimit", opts.groundTruthLimit, 100_000, 0, true),
    maxModelLen: num("maxModelLen", opts.maxModelLen, 131_072, 1, true),
    maxBodyBytes: num("maxBodyBytes", opts.maxBodyBytes, 16 * 1024 * 1024, 1, true),
    perf: perfOption(opts),
  };
}

/** The options with their defaults filled, as the server runs with them. */
export type ResolvedSimOptions = ReturnType<typeof resolveOptions>;

/** A performance model times every token itself: fixed delays and multi-token chunks contradict it. */
function perfOption(opts: SimOptions): PerfModel | undefined {
  if (opts.perf === undefined) return undefined;
  for (const name of ["ttftMs", "itlMs", "jitterMs"] as const)
    if ((opts[name] ?? 0) !== 0)
      throw new RangeError(`sim: ${name} cannot be combined with perf (the model times tokens)`);
  if ((opts.tokensPerChunk ?? 1) !== 1)
    throw new RangeError(
      "sim: tokensPerChunk cannot be combined with perf (each step writes one token per sequence)",
    );
  return opts.perf;
}
