/**
 * The metrics of one workload on one runtime, as aggregate.ts computes them from the per-request
 * traces. The definitions below are DESIGN.md's "Metric definitions"; they are repeated in
 * docs/metrics.md ("Benchmark metrics") and the two must agree.
 *
 * Conventions:
 * - Times are milliseconds (offsets from the run's start); throughputs are per second.
 * - Warmup traces (`warmup: true`) count only towards `warmupRequests`.
 * - Latency metrics (TTFT, E2E, TPOT, ITL) are taken over `ok` requests only, like vLLM's.
 * - Unknown is never zero: a summary over no values is absent (`undefined`), and every metric that
 *   skips requests says how many in `excluded`.
 */
import type { Summary } from "./stats.js";
import type { Outcome, Slo } from "./types.js";
import type { SendRate } from "./warnings.js";

/** Up to five distinct failures, with how many requests failed that way. */
export interface ErrorSample {
  outcome: Exclude<Outcome, "ok">;
  status?: number;
  error: string;
  count: number;
}

export interface TokenMismatch {
  /** Non-warmup requests with server usage, the set every count below is over. */
  compared: number;
  /** Requests whose `usage.prompt_tokens` ≠ the planned prompt tokens. */
  promptVsPlanned: number;
  /** Requests whose `usage.completion_tokens` ≠ `max_tokens` (ignore_eos not honoured, or a stop). */
  completionVsRequested: number;
  /**
   * Informational: requests without per-chunk token counts whose content-chunk count ≠
   * `usage.completion_tokens`. Expected when a server sends several tokens per chunk.
   */
  completionVsChunks: number;
  plannedPromptTokens: number;
  serverPromptTokens: number;
  requestedCompletionTokens: number;
  serverCompletionTokens: number;
}

export interface OutputLengths {
  exact: boolean;
  /** False when the server refused `ignore_eos` and requests went without it. */
  ignoreEosSent: boolean;
  /** Requests with usage, and those among them whose completion_tokens ≠ max_tokens. */
  compared: number;
  differ: number;
  requestedTokens: number;
  generatedTokens: number;
}

export interface CostMetrics {
  dollarsPerHour: number;
  /** dollarsPerHour × 10⁶ / (inputTokenThroughput × 3600); absent when that throughput is 0 or unknown. */
  costPer1MInputTokens?: number;
  /** dollarsPerHour × 10⁶ / (outputTokenThroughput × 3600); absent when 0 or unknown. */
  costPer1MOutputTokens?: number;
  /** dollarsPerHour × 10⁶ / (totalTokenThroughput × 3600); absent when 0 or unknown. */
  costPer1MTotalTokens?: number;
}

export interface GoodputMetrics {
  /** The SLOs the requests were held to (only the configured ones). */
  slo: Slo;
  /** Ok requests that met every configured SLO. */
  met: number;
  /** met / durationS; absent when the duration is 0 or unknown. */
  requestsPerS?: number;
  /** met / counts.total (a failed request misses its SLO); absent with no requests. */
  fraction?: number;
}

export interface WorkloadMetrics {
  /** Warmup requests seen; excluded from every other figure. */
  warmupRequests: number;
  /** Non-warmup requests by outcome. */
  counts: { total: number; ok: number; errored: number; incomplete: number };
  errorSamples: ErrorSample[];
  /** The measured window (ms); absent when there was no non-warmup request and none was given. */
  window?: { startMs: number; endMs: number };
  /** (window end − window start) / 1000. */
  durationS?: number;
  offeredQps?: number;
  tokenSource?: string;

  /**
   * TTFT: first token chunk − send (reasoning chunks count: they are tokens), ok requests with at
   * least one chunk.
   */
  ttftMs?: Summary;
  /**
   * Time to first output token: the first answer chunk − send, when the server streamed reasoning
   * apart (`reasoning_content` / `reasoning` deltas); ok requests with an answer chunk. For a
   * request without reasoning chunks it equals its TTFT. Absent when no request streamed reasoning.
   */
  timeToFirstOutputMs?: Summary;
  /**
   * Reasoning streamed apart from the answer: ok requests that streamed reasoning chunks, how many
   * such chunks, and the reasoning tokens the server's usage reported
   * (`completion_tokens_details.reasoning_tokens`; `tokens` absent when no request reported them).
   * Absent when no request streamed or reported reasoning.
   */
  reasoning?: { requests: number; chunks: number; tokens?: number; tokensReported: number };
  /** First content chunk − scheduled: includes the client's own lag and any max_concurrency wait. */
  ttftFromScheduledMs?: Summary;
  /** E2E latency: end (last byte) − send, ok requests with an end. */
  e2eMs?: Summary;
  /** End − scheduled. */
  e2eFromScheduledMs?: Summary;
  /** TPOT per request: (E2E − TTFT) / (usage.completion_tokens − 1), ok requests with ≥ 2 tokens. */
  tpotMs?: Summary;
  /** ITL: every gap between consecutive content chunks, pooled across ok requests (vLLM's ITL). */
  itlMs?: Summary;
  /** Σ usage.completion_tokens / Σ content chunks over ok requests with usage and a chunk. */
  tokensPerChunk?: number;
  /** Client lag: send − scheduled, every non-warmup request. */
  clientLagMs?: Summary;
  /** Ok requests each metric skipped (and why it could not be computed for them). */
  excluded: {
    /** No content chunk. */
    ttft: number;
    /** No end time. */
    e2e: number;
    /** No usage, fewer than 2 completion tokens, no content chunk or no end. */
    tpot: number;
    /** Fewer than 2 content chunks (no gap to measure). */
    itl: number;
    /** No usage or no content chunk. */
    tokensPerChunk: number;
    /** Chunks whose token count is unknown (no chunkTokens and no usage): left out of the peak. */
    peakOutputTokens: number;
  };

  /** Σ usage.prompt_tokens / Σ usage.completion_tokens over ok requests that reported usage. */
  tokens: { input?: number; output?: number; usageMissing: number };
  /** ok / durationS. */
  requestThroughput?: number;
  /** tokens.input / durationS; a lower bound when tokens.usageMissing > 0. */
  inputTokenThroughput?: number;
  /** tokens.output / durationS; a lower bound when tokens.usageMissing > 0. */
  outputTokenThroughput?: number;
  /** (tokens.input + tokens.output) / durationS. */
  totalTokenThroughput?: number;
  /** The most output tokens whose chunks arrived in one 1-second bin of the window (ok requests). */
  peakOutputTokensPerS?: number;
  /** Most ok requests in flight at once ([send, end) intervals). */
  peakConcurrency?: number;

  /** Absent when no SLO is configured. */
  goodput?: GoodputMetrics;
  tokenMismatch: TokenMismatch;
  /** Absent when no cost profile was given. */
  cost?: CostMetrics;

  /** Requests that waited for max_concurrency, as the caller reported. */
  queuedRequests?: number;
  /** The offered and achieved send rates with the run's noise; open loops at a finite rate only. */
  sendRate?: SendRate;
  /**
   * True when the client's keeping of the schedule changes a conclusion (warnings.ts
   * `scheduleWarnings`); never for closed loops or bursts, which have no schedule.
   */
  lagWarning: boolean;
  /** The schedule warnings, each saying what to do. */
  lagMessage?: string;
  /**
   * Whether output lengths were the planned ones: `exact` when `ignore_eos` was sent and every
   * request that reported usage generated exactly `max_tokens`. Not exact means output token
   * throughput, TPOT and cost per output token are at lengths the server chose, which differ
   * from another runtime's. Absent when no request reported usage.
   */
  outputLengths?: OutputLengths;
  /** Human-readable notes on figures to read with care (lag, missing usage, token mismatches). */
  warnings: string[];
}
