/**
 * The shapes of a benchmark run (run.ts): its options, the events it emits, and the result it
 * writes to `result.json`.
 */
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { PairCheckpoint } from "./checkpoint.js";
import type { Environment } from "./environment.js";
import type { FirstRequestCheck } from "./first-request.js";
import type { BenchMetrics } from "./live-metrics.js";
import type { WorkloadMetrics } from "./metric-types.js";
import type { Calibration } from "./prompts.js";
import type { RampStep } from "./ramp.js";
import type { RunFailure } from "./run-verdict.js";
import type { Progress, RunSummary } from "./runner.js";
import type { SaturationStop } from "./saturation.js";
import type { ServerMetricsSummary } from "./server-metrics.js";
import type { SessionTotals, TurnMetrics } from "./sessions.js";
import type { SweepPoint, SweepSummary } from "./sweep.js";
import type { TargetInfo } from "./targets.js";
import type { BenchConfig } from "./types.js";

export const RESULT_SCHEMA = "tokenforge.bench.result/v1";

export type BenchEvent =
  | { kind: "log"; message: string }
  | { kind: "start"; workload: string; runtime: string; planned: number }
  | { kind: "progress"; workload: string; runtime: string; progress: Progress }
  | { kind: "result"; workload: string; runtime: string; metrics: WorkloadMetrics };

export interface WorkloadResult {
  workload: string;
  runtime: string;
  metrics: WorkloadMetrics;
  run: RunSummary;
  /** The sweep this point belongs to, when it is one. */
  sweep?: { of: string; kind: SweepPoint["kind"] };
  /** A rate ramp's metrics per step (ramp.ts). */
  steps?: RampStep[];
  /** Multi-turn sessions: the metrics of each turn index, and totals per session (sessions.ts). */
  sessions?: { turns: TurnMetrics[]; totals: SessionTotals };
  /** The ramp this run is a level of, when it is a concurrency ramp's step. */
  ramp?: { of: string; step: number; concurrency: number };
  /** Why the run stopped before its plan ended, when the saturation stop ended it. */
  stopped?: SaturationStop;
  /** The target's own `/metrics` sampled during the run, when it serves the known series. */
  serverMetrics?: ServerMetricsSummary;
}

/**
 * `complete`: every workload ran and stayed within its error limit. `incomplete`: stopped early
 * (Ctrl-C, a cancelled run). `failed`: every workload ran, but one's errors broke its limit
 * (`failure` says which, with the most frequent error messages).
 */
export type BenchStatus = "complete" | "incomplete" | "failed";

export interface BenchResult {
  schema: typeof RESULT_SCHEMA;
  id: string;
  status: BenchStatus;
  startedAt: string;
  finishedAt: string;
  configFile?: string;
  /** How the config was given: the file's own value and the command-line flags laid over it. */
  invocation?: Invocation;
  seed: number;
  config: BenchConfig;
  environment: Environment;
  targets: TargetInfo[];
  calibration: Omit<Calibration, "words"> & { words: number };
  /**
   * The first-request check on each target, sent before any schedule and counted in no metric
   * (absent in results written before the check existed).
   */
  checks?: FirstRequestCheck[];
  results: WorkloadResult[];
  sweeps: SweepSummary[];
  /** Why the run failed, when its status is `failed`. */
  failure?: RunFailure;
  warnings: string[];
  files: { requests: string; vllm: string[] };
}

/** The two sources of a command-line run's config; `config` is what they made together. */
export interface Invocation {
  /** The config file's value as written (absent with no file). */
  file?: unknown;
  /** The flags given, which won over the file. */
  flags: Record<string, unknown>;
}

export interface BenchRunOptions {
  config: BenchConfig;
  configFile?: string;
  invocation?: Invocation;
  runtimes: RuntimeRegistry;
  outDir: string;
  onEvent?: (e: BenchEvent) => void;
  signal?: AbortSignal;
  /** Extra arguments for workers this run starts (e.g. `--parallel 4`). */
  workerArgs?: string[];
  /** Add vLLM's per-request arrays (`--save-detailed`) to the vLLM view; they grow with the run. */
  vllmDetailed?: boolean;
  /** Live Prometheus series of the run (`--metrics-port`). */
  metrics?: BenchMetrics;
  /** Sampling of each target's `/metrics` during a workload (default every 1000 ms); false: off. */
  serverMetrics?: { intervalMs?: number } | false;
  /** The value of an environment variable a target's `api_key_env` names (default: none is set). */
  secrets?: (name: string) => string | undefined;
  /**
   * Pairs this run already finished in `outDir` (a resumed run): they are not run again, and
   * their results are carried into this one. The plan and seed are the config's, as before.
   */
  resume?: readonly PairCheckpoint[];
  /** Called once a workload × runtime pair has finished and its checkpoint is on disk. */
  onPair?: (pair: PairCheckpoint) => void;
}
