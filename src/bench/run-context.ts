/**
 * What the stages of one benchmark run share: its options and targets, and what each stage has
 * found or measured so far (the calibration, each target's check, the results in the order they
 * ran, whether the run was interrupted). Each stage reads and adds to it in turn.
 */
import type { Target } from "./client.js";
import type { FirstRequestCheck } from "./first-request.js";
import type { DatasetPrompts } from "./plan.js";
import { type Calibration, uncalibrated } from "./prompts.js";
import { prepareDataset } from "./run-prompts.js";
import type { BenchEvent, BenchRunOptions, WorkloadResult } from "./run-types.js";
import type { ErrorBreach } from "./run-verdict.js";
import type { ReferenceRequest } from "./stall.js";
import type { SweepSummary } from "./sweep.js";
import { RunTargets, type TargetInfo } from "./targets.js";
import type { TraceWriter } from "./trace-io.js";
import type { BenchConfig, Workload } from "./types.js";

export interface RunContext {
  readonly opts: BenchRunOptions;
  readonly config: BenchConfig;
  readonly emit: (e: BenchEvent) => void;
  readonly startedAt: Date;
  /** The run's targets; `close()` stops every worker the run started. */
  readonly runTargets: RunTargets;
  readonly targets: TargetInfo[];
  /** Headers per runtime (API keys of attached targets); kept out of the result. */
  readonly auth: Map<string, Record<string, string>>;
  readonly warnings: string[];
  readonly results: WorkloadResult[];
  readonly sweeps: SweepSummary[];
  readonly vllmFiles: string[];
  readonly checks: FirstRequestCheck[];
  /** Per runtime, the check request that sets its stall timeouts. */
  readonly references: Map<string, ReferenceRequest>;
  readonly breaches: ErrorBreach[];
  readonly datasets: Map<Workload, DatasetPrompts | undefined>;
  /** Whether each target URL serves `/metrics` with known series (probed once). */
  readonly hasServerMetrics: Map<string, boolean>;
  /** Runtimes whose server refused `ignore_eos` at the first-request check. */
  readonly noIgnoreEos: Set<string>;
  /** Where each request's trace is written, once every target answered its check. */
  writer: TraceWriter | undefined;
  interrupted: boolean;
  calibration: Calibration;
}

/** A run's shared state before anything is opened or sent. */
export function runContext(opts: BenchRunOptions): RunContext {
  const emit = opts.onEvent ?? (() => {});
  const startedAt = new Date();
  const runTargets = new RunTargets({
    config: opts.config,
    runtimes: opts.runtimes,
    workerArgs: opts.workerArgs ?? [],
    secrets: opts.secrets ?? (() => undefined),
    log: (message) => emit({ kind: "log", message }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  return {
    opts,
    config: opts.config,
    emit,
    startedAt,
    runTargets,
    targets: runTargets.list,
    auth: runTargets.auth,
    warnings: [],
    results: [],
    sweeps: [],
    vllmFiles: [],
    checks: [],
    references: new Map(),
    breaches: [],
    datasets: new Map(),
    hasServerMetrics: new Map(),
    noIgnoreEos: new Set(),
    writer: undefined,
    interrupted: false,
    calibration: uncalibrated(),
  };
}

/** The client target for one runtime and workload, with the runtime's API key headers. */
export function targetOf(ctx: RunContext, t: TargetInfo, workload: Workload): Target {
  return {
    baseUrl: t.url,
    model: ctx.config.model,
    endpoint: workload.endpoint,
    stream: workload.stream,
    ...(ctx.auth.has(t.runtime) ? { headers: ctx.auth.get(t.runtime) } : {}),
  };
}

/** A workload's dataset prompts, loaded and counted once (the check and the runs share them). */
export async function datasetOf(ctx: RunContext, w: Workload): Promise<DatasetPrompts | undefined> {
  if (!ctx.datasets.has(w))
    ctx.datasets.set(
      w,
      await prepareDataset(w, ctx.targets[0]!, ctx.config.model, ctx.calibration, ctx.auth),
    );
  return ctx.datasets.get(w);
}
