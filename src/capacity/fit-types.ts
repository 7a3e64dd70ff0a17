/**
 * What a fit of the simulated engine's performance model takes and gives: the trace lines it reads,
 * its options, its report (the fitted model, how each stage was estimated, the replay's error per
 * workload) and its error; and a trace's prompt and output tokens as the fit counts them.
 */
import type { RequestTrace } from "../bench/types.js";
import type { PerfModel } from "../runtimes/sim/perf-model.js";

/** A line of `requests.jsonl`: a trace with the workload and runtime it belongs to. */
export type TraceLine = RequestTrace & { workload: string; runtime: string };

export interface FitOptions {
  maxBatch: number;
  kvCacheTokens: number;
  /** Fit on these workloads only; the others are reported as held out. Default: all. */
  fitWorkloads?: readonly string[];
  /**
   * Closed-loop workloads by name, with their concurrency: replayed as closed loops (each request
   * sent when one completes), so an error in one request's time does not pile onto the next send.
   * Any other workload is replayed at its measured send times.
   */
  closedLoop?: Readonly<Record<string, number>>;
  /** Tokens a step of the engine processes at most (llama.cpp's batch size), when known. */
  maxBatchedTokens?: number;
  /** Refine the prefill rate and overhead by replaying the fitted workloads. Default true. */
  refine?: boolean;
}

/** One compared figure: measured, simulated, and (simulated − measured) / measured. */
export interface FitFigure {
  metric: string;
  measured: number;
  simulated: number;
  relError: number;
}

export interface WorkloadFitError {
  workload: string;
  /** True when the workload was not used to fit the model. */
  heldOut: boolean;
  requests: number;
  figures: FitFigure[];
  /** Mean of |relError| over the figures. */
  meanAbsRelError: number;
}

export interface FitReport {
  model: PerfModel;
  runtime: string;
  fittedOn: string[];
  decode: {
    samples: number;
    byBatch: Array<{ batch: number; samples: number; medianMs: number }>;
    note?: string;
  };
  prefill: {
    /** Steps that prefilled (each one sample: its prompt tokens, its time less the decode part). */
    steps: number;
    /** By prompt tokens prefilled in the step. */
    bins: Array<{ promptTokens: number; samples: number; medianMs: number }>;
    /** The estimate from the steps alone, before the replay refined it. */
    direct: { tokensPerS: number; overheadMs: number };
    /** Set when the prompts' lengths were too alike to separate the overhead from the rate. */
    note?: string;
  };
  errors: WorkloadFitError[];
  /** Mean |relError| over every figure of the workloads fitted on, and of those held out. */
  meanAbsRelError: { fitted?: number; heldOut?: number };
}

export class FitError extends Error {}

/** Prompt tokens of a trace: the server's count when it reported usage, else the planned count. */
export function promptOf(t: RequestTrace): number {
  return t.usage?.promptTokens ?? t.promptTokens;
}

/** Output tokens of a trace: the server's count, else its chunks' tokens, else one per chunk; at least 1. */
export function outputOf(t: RequestTrace): number {
  if (t.usage) return Math.max(1, t.usage.completionTokens);
  if (t.chunkTokens)
    return Math.max(
      1,
      t.chunkTokens.reduce((a, b) => a + b, 0),
    );
  return Math.max(1, t.chunkMs.length);
}
