/**
 * A benchmark run end to end: attach to (or start) each runtime, fail before sending anything
 * when a target is unreachable, calibrate prompts once, send one check request to each target
 * (first-request.ts: a refusal stops the run with the server's message before any schedule),
 * then run every workload against every runtime with the same plan, aggregate each from its
 * traces on disk, judge whether the run stands (run-verdict.ts), and write the result files.
 *
 * Files in `outDir`: `result.json` (schema-versioned: config, seed, versions, machine, every
 * metric), `requests.jsonl` (one line per request, written as requests end) and
 * `vllm/<workload>.<runtime>.json` (each result in the layout of vLLM's `bench serve`).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import { Aggregator } from "./aggregate.js";
import { keepTraces, PAIR_SCHEMA, type PairCheckpoint, writeCheckpoint } from "./checkpoint.js";
import type { Target } from "./client.js";
import { type Environment, environment } from "./environment.js";
import { checkFailure, checkFirstRequest, type FirstRequestCheck, referenceOf } from "./first-request.js";
import { refusesIgnoreEos, withoutIgnoreEos } from "./ignore-eos.js";
import type { BenchMetrics } from "./live-metrics.js";
import type { WorkloadMetrics } from "./metric-types.js";
import { buildPlan, type DatasetPrompts } from "./plan.js";
import { type Calibration, uncalibrated } from "./prompts.js";
import { concurrencyStages, type RampStep, rampStepMetrics } from "./ramp.js";
import { redactValue, secretsOfHeaders } from "./redact.js";
import { calibrate, calibrateFromCheck, longestPrompt, prepareDataset } from "./run-prompts.js";
import { type ErrorBreach, errorBreach, type RunFailure, runFailure } from "./run-verdict.js";
import { type Progress, type RunSummary, runPlan } from "./runner.js";
import { type SaturationStop, watchSaturation } from "./saturation.js";
import {
  probeServerMetrics,
  type ServerMetricsSummary,
  startServerMetricsSampler,
} from "./server-metrics.js";
import { runSessions } from "./session-runner.js";
import { buildSessionPlan, type SessionTotals, sessionMetrics, type TurnMetrics } from "./sessions.js";
import { CHECK_STALL_TIMEOUT_MS, type ReferenceRequest, stallTimeoutMs } from "./stall.js";
import {
  rateStage,
  type SweepPoint,
  type SweepSummary,
  searchSweep,
  summarizeSweep,
  sweepRates,
  synchronousStage,
  throughputStage,
} from "./sweep.js";
import { RunTargets, type TargetInfo } from "./targets.js";
import { readTraces, TraceWriter } from "./trace-io.js";
import type { BenchConfig, Workload } from "./types.js";
import { toVllmBenchServe, vllmFileOf } from "./vllm-view.js";

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

/** Runs the config; the returned result is also written to `outDir/result.json`. */
export async function runBenchmark(opts: BenchRunOptions): Promise<BenchResult> {
  const { config } = opts;
  const emit = opts.onEvent ?? (() => {});
  const startedAt = new Date();
  const warnings: string[] = [];
  const results: WorkloadResult[] = [];
  const sweeps: SweepSummary[] = [];
  const vllmFiles: string[] = [];
  const checks: FirstRequestCheck[] = [];
  /** Per runtime, the check request that sets its stall timeouts. */
  const references = new Map<string, ReferenceRequest>();
  const breaches: ErrorBreach[] = [];
  const datasets = new Map<Workload, DatasetPrompts | undefined>();
  /** Whether each target URL serves `/metrics` with known series (probed once). */
  const hasServerMetrics = new Map<string, boolean>();
  /** Runtimes whose server refused `ignore_eos` at the first-request check. */
  const noIgnoreEos = new Set<string>();
  let writer: TraceWriter | undefined;
  let interrupted = false;
  let calibration: Calibration = uncalibrated();
  const run = new RunTargets({
    config,
    runtimes: opts.runtimes,
    workerArgs: opts.workerArgs ?? [],
    secrets: opts.secrets ?? (() => undefined),
    log: (message) => emit({ kind: "log", message }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const targets = run.list;
  const auth = run.auth;
  const targetOf = (t: TargetInfo, workload: Workload): Target => ({
    baseUrl: t.url,
    model: config.model,
    endpoint: workload.endpoint,
    stream: workload.stream,
    ...(auth.has(t.runtime) ? { headers: auth.get(t.runtime) } : {}),
  });
  /** A workload's dataset prompts, loaded and counted once (the check and the runs share them). */
  const prompts = async (w: Workload): Promise<DatasetPrompts | undefined> => {
    if (!datasets.has(w))
      datasets.set(w, await prepareDataset(w, targets[0]!, config.model, calibration, auth));
    return datasets.get(w);
  };

  try {
    await run.open();

    const firstWorkload = config.workloads[0]!;
    calibration = await calibrate(targets, config.model, firstWorkload.endpoint, auth);
    emit({ kind: "log", message: `prompt calibration: ${calibration.detail}` });
    const firstPlan = buildPlan(firstWorkload, config.model, calibration, await prompts(firstWorkload));
    for (const t of targets) {
      const checkWith = (plan: typeof firstPlan) =>
        checkFirstRequest({
          plan,
          target: targetOf(t, firstWorkload),
          runtime: t.runtime,
          url: t.url,
          stallTimeoutMs: (firstWorkload.stallTimeoutS ?? CHECK_STALL_TIMEOUT_MS / 1000) * 1000,
          ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        });
      let check = await checkWith(firstPlan);
      if (refusesIgnoreEos(check)) {
        // OpenAI's own API refuses arguments it does not know: go without, and say so.
        noIgnoreEos.add(t.runtime);
        warnings.push(
          `${t.runtime} refuses ignore_eos (${check.error}): its requests were sent without it, so output lengths are the server's choice, not the plan's`,
        );
        emit({ kind: "log", message: `${t.runtime} refuses ignore_eos: sending without it` });
        check = await checkWith(withoutIgnoreEos(firstPlan));
      }
      checks.push(check);
      if (opts.signal?.aborted) break;
      if (check.outcome !== "ok") throw checkFailure(check);
      const reference = referenceOf(check);
      if (reference) references.set(t.runtime, reference);
      emit({ kind: "log", message: `first request to ${t.runtime}: ok in ${check.e2eMs?.toFixed(0)} ms` });
    }
    if (opts.signal?.aborted) interrupted = true;
    // Where nothing counted tokens beforehand, the check's own usage gives the overhead.
    const counted = checks.length > 0 ? calibrateFromCheck(calibration, checks[0]!) : undefined;
    if (counted !== undefined) {
      calibration = counted;
      emit({ kind: "log", message: `prompt calibration: ${calibration.detail}` });
    }

    // Nothing is written before every target answered its check.
    mkdirSync(join(opts.outDir, "vllm"), { recursive: true });
    // A resumed run keeps the traces of the pairs it finished and drops those of the one cut short.
    if (opts.resume !== undefined) keepTraces(join(opts.outDir, "requests.jsonl"), opts.resume);
    writer = new TraceWriter(join(opts.outDir, "requests.jsonl"));
    const traces = writer;

    const finished = new Map((opts.resume ?? []).map((p) => [`${p.workload}\u0000${p.runtime}`, p]));
    /** Keeps a finished pair on disk before the next one starts. */
    const checkpoint = async (workload: string, runtime: string, from: number, sweep?: SweepSummary) => {
      if (interrupted) return;
      const pair = {
        workload,
        runtime,
        results: results.slice(from),
        ...(sweep ? { sweep } : {}),
        tracesEnd: await traces.offset(),
      };
      writeCheckpoint(opts.outDir, pair);
      opts.onPair?.({ schema: PAIR_SCHEMA, ...pair });
    };
    for (const workload of config.workloads) {
      if (interrupted) break;
      const pending = targets.filter((t) => !finished.has(`${workload.name}\u0000${t.runtime}`));
      const dataset = pending.length > 0 ? await prompts(workload) : undefined;
      for (const t of targets) {
        if (interrupted) break;
        const done = finished.get(`${workload.name}\u0000${t.runtime}`);
        if (done !== undefined) {
          results.push(...done.results);
          if (done.sweep) sweeps.push(done.sweep);
          vllmFiles.push(...done.results.map((r) => vllmFileOf(r.workload, r.runtime)));
          continue;
        }
        const target = targetOf(t, workload);
        const from = results.length;
        if (workload.ramp?.of === "concurrency") {
          for (const [k, stage] of concurrencyStages(workload).entries()) {
            if (interrupted) break;
            const r = await measure(stage.workload, t.runtime, target, dataset);
            results.push({ ...r, ramp: { of: workload.name, step: k + 1, concurrency: stage.concurrency } });
          }
          await checkpoint(workload.name, t.runtime, from);
          continue;
        }
        if (workload.sweep === undefined) {
          const r = await measure(workload, t.runtime, target, dataset);
          results.push(r);
          await checkpoint(workload.name, t.runtime, from);
          continue;
        }
        if ("search" in workload.sweep) {
          const summary = await searchSweep(workload, t.runtime, workload.sweep.search, async (w, kind) => {
            if (interrupted) return undefined;
            const r = await measure(w, t.runtime, target, dataset, { of: workload.name, kind });
            results.push(r);
            if (interrupted) return undefined;
            return { metrics: r.metrics, ...(r.stopped ? { stopped: r.stopped.message } : {}) };
          });
          sweeps.push(summary);
          for (const note of summary.search?.notes ?? [])
            warnings.push(`sweep ${workload.name} on ${t.runtime}: ${note}`);
          await checkpoint(workload.name, t.runtime, from, summary);
          continue;
        }
        const points: SweepPoint[] = [];
        const stages: [Workload, SweepPoint["kind"]][] = [
          [synchronousStage(workload), "synchronous"],
          [throughputStage(workload), "throughput"],
        ];
        for (const [w, kind] of stages) {
          if (interrupted) break;
          const r = await measure(w, t.runtime, target, dataset, { of: workload.name, kind });
          results.push(r);
          points.push({ label: w.name, kind, metrics: r.metrics });
        }
        const syncRate = points[0]?.metrics.requestThroughput;
        const maxRate = points[1]?.metrics.requestThroughput;
        if (!interrupted && syncRate !== undefined && maxRate !== undefined) {
          for (const qps of sweepRates(syncRate, maxRate, workload.sweep.points)) {
            if (interrupted) break;
            const w = rateStage(workload, qps);
            const r = await measure(w, t.runtime, target, dataset, { of: workload.name, kind: "rate" });
            results.push(r);
            points.push({
              label: w.name,
              kind: "rate",
              offeredQps: qps,
              metrics: r.metrics,
              ...(r.stopped ? { stopped: r.stopped.message } : {}),
            });
            // Over capacity here: higher rates would only be more so.
            if (r.stopped) break;
          }
        } else if (!interrupted) {
          warnings.push(
            `sweep ${workload.name} on ${t.runtime}: no request completed in a baseline stage; rates skipped`,
          );
        }
        const summary = summarizeSweep(workload, t.runtime, points);
        sweeps.push(summary);
        await checkpoint(workload.name, t.runtime, from, summary);
      }
    }
  } finally {
    await writer?.close();
    await run.close();
  }

  const failure = runFailure(breaches);
  const result: BenchResult = {
    schema: RESULT_SCHEMA,
    id: opts.outDir.split(/[\\/]/).pop() ?? "run",
    status: interrupted ? "incomplete" : failure ? "failed" : "complete",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ...(opts.configFile === undefined ? {} : { configFile: opts.configFile }),
    ...(opts.invocation === undefined ? {} : { invocation: opts.invocation }),
    seed: config.seed,
    config,
    environment: environment(),
    targets,
    calibration: { ...calibration, words: calibration.words.length },
    checks,
    results,
    sweeps,
    ...(failure === undefined || interrupted ? {} : { failure }),
    warnings: [
      ...targets.flatMap((t) => (t.warnings ?? []).map((w) => `${t.runtime} worker: ${w.message}`)),
      ...warnings,
      ...results.flatMap((r) => r.metrics.warnings.map((w) => `${r.workload} on ${r.runtime}: ${w}`)),
    ],
    files: { requests: "requests.jsonl", vllm: vllmFiles },
  };
  // What a target answered (health, errors) is recorded without any API key it echoed.
  const recorded = redactValue(result, [...auth.values()].flatMap(secretsOfHeaders));
  writeFileSync(join(opts.outDir, "result.json"), `${JSON.stringify(recorded, null, 2)}\n`);
  return result;

  async function measure(
    workload: Workload,
    runtime: string,
    target: Target,
    dataset: DatasetPrompts | undefined,
    sweep?: WorkloadResult["sweep"],
  ): Promise<WorkloadResult> {
    const out = writer as TraceWriter;
    const built = buildPlan(workload, config.model, calibration, dataset);
    const plan = noIgnoreEos.has(runtime) ? withoutIgnoreEos(built) : built;
    emit({ kind: "start", workload: workload.name, runtime, planned: plan.count });
    const from = await out.offset();
    const sampler = await serverSampler(target, runtime);
    let serverMetrics: ServerMetricsSummary | undefined;
    const watch = workload.saturation ? watchSaturation(workload.saturation, opts.signal) : undefined;
    const signal = watch?.signal ?? opts.signal;
    const sessionPlan = workload.sessions ? buildSessionPlan(workload, config.model, calibration) : undefined;
    const run = await (sessionPlan ? runSessions(sessionPlan) : runPlan)({
      target,
      plan,
      stallTimeoutMs: stallTimeoutMs(workload, references.get(runtime), longestPrompt(dataset)),
      onTrace: (trace) => {
        out.write(workload.name, runtime, trace);
        opts.metrics?.observe(workload.name, runtime, trace);
        watch?.trace(trace);
      },
      onProgress: (progress) => {
        opts.metrics?.setInFlight(workload.name, runtime, progress.inFlight);
        emit({ kind: "progress", workload: workload.name, runtime, progress });
        watch?.progress(progress);
      },
      ...(signal === undefined ? {} : { signal }),
      ...(watch === undefined ? {} : { progressIntervalMs: watch.progressIntervalMs }),
      requestIdPrefix: `${workload.name}-${runtime}`,
    }).finally(async () => {
      watch?.dispose();
      serverMetrics = await sampler?.stop().catch(() => undefined);
    });
    const stopped = watch?.stopped;
    if (run.interrupted && (stopped === undefined || opts.signal?.aborted)) interrupted = true;
    const to = await out.offset();
    const agg = new Aggregator({
      slo: workload.slo,
      ...(config.cost === undefined ? {} : { cost: config.cost }),
      ...(run.offeredRate === undefined ? {} : { offeredQps: run.offeredRate }),
      tokenSource: calibration.source,
      ignoreEosSent: !noIgnoreEos.has(runtime),
      queuedRequests: run.queued,
    });
    for (const t of readTraces(out.path, from, to)) agg.add(t);
    const metrics = agg.finish();
    const sessions =
      sessionPlan === undefined
        ? undefined
        : sessionMetrics(sessionPlan, readTraces(out.path, from, to), {
            slo: workload.slo,
            ...(config.cost === undefined ? {} : { cost: config.cost }),
            tokenSource: calibration.source,
          });
    const hitRate = serverMetrics?.prefixCacheHitRate;
    if (sessions !== undefined && hitRate !== undefined) sessions.totals.prefixCacheHitRate = hitRate;
    const steps =
      workload.ramp?.of === "qps" && plan.mode.kind === "open"
        ? rampStepMetrics(workload.ramp, plan.mode.atMs, readTraces(out.path, from, to), {
            slo: workload.slo,
            ...(config.cost === undefined ? {} : { cost: config.cost }),
            tokenSource: calibration.source,
          })
        : undefined;
    const breach = run.interrupted ? undefined : errorBreach(workload, runtime, metrics);
    if (breach) breaches.push(breach);
    if (stopped !== undefined) metrics.warnings.push(stopped.message);
    else if (run.notSent > 0)
      metrics.warnings.push(`${run.notSent} planned requests were never sent (the run was interrupted)`);
    const file = vllmFileOf(workload.name, runtime);
    const view = toVllmBenchServe(metrics, {
      model: config.model,
      backend: runtime,
      date: startedAt,
      requestRate: workload.qps,
      burstiness: workload.arrival.kind === "gamma" ? workload.arrival.burstiness : 1,
      ...(workload.maxConcurrency === undefined ? {} : { maxConcurrency: workload.maxConcurrency }),
      numPrompts: metrics.counts.total,
      ...(opts.vllmDetailed
        ? {
            traces: (function* () {
              for (const t of readTraces(out.path, from, to)) if (!t.warmup) yield t;
            })(),
          }
        : {}),
    });
    writeFileSync(join(opts.outDir, file), `${JSON.stringify(view)}\n`);
    vllmFiles.push(file);
    emit({ kind: "result", workload: workload.name, runtime, metrics });
    return {
      workload: workload.name,
      runtime,
      metrics,
      run,
      ...(sweep === undefined ? {} : { sweep }),
      ...(steps === undefined ? {} : { steps }),
      ...(sessions === undefined ? {} : { sessions }),
      ...(stopped === undefined ? {} : { stopped }),
      ...(serverMetrics === undefined ? {} : { serverMetrics }),
    };
  }

  /** A sampler of the target's `/metrics` when it serves known series (probed once per URL). */
  async function serverSampler(target: Target, runtime: string) {
    if (opts.serverMetrics === false) return undefined;
    const catalogue = opts.runtimes.metricSeries(runtime);
    try {
      let ok = hasServerMetrics.get(target.baseUrl);
      if (ok === undefined) {
        ok = await probeServerMetrics(target.baseUrl, {
          catalogue,
          ...(target.headers ? { headers: target.headers } : {}),
        });
        hasServerMetrics.set(target.baseUrl, ok);
      }
      if (!ok) return undefined;
      return startServerMetricsSampler(target.baseUrl, {
        catalogue,
        ...(opts.serverMetrics?.intervalMs === undefined
          ? {}
          : { intervalMs: opts.serverMetrics.intervalMs }),
        ...(target.headers ? { headers: target.headers } : {}),
      });
    } catch {
      return undefined;
    }
  }
}
