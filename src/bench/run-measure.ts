/**
 * One measured run of one workload on one runtime: build its plan, send it while its traces go to
 * `requests.jsonl` (and the target's `/metrics` is sampled, and the saturation stop watches), then
 * aggregate its metrics from those traces on disk and write its vLLM view.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Aggregator } from "./aggregate.js";
import type { Target } from "./client.js";
import { withoutIgnoreEos } from "./ignore-eos.js";
import { buildPlan, type DatasetPrompts } from "./plan.js";
import { rampStepMetrics } from "./ramp.js";
import type { RunContext } from "./run-context.js";
import { longestPrompt } from "./run-prompts.js";
import type { WorkloadResult } from "./run-types.js";
import { errorBreach } from "./run-verdict.js";
import { runPlan } from "./runner.js";
import { watchSaturation } from "./saturation.js";
import {
  probeServerMetrics,
  type ServerMetricsSummary,
  startServerMetricsSampler,
} from "./server-metrics.js";
import { runSessions } from "./session-runner.js";
import { buildSessionPlan, sessionMetrics } from "./sessions.js";
import { stallTimeoutMs } from "./stall.js";
import { readTraces, type TraceWriter } from "./trace-io.js";
import type { Workload } from "./types.js";
import { toVllmBenchServe, vllmFileOf } from "./vllm-view.js";

/**
 * Runs `workload` on `runtime` and returns its result; an interruption that was not the
 * saturation stop marks the whole run interrupted, and an error limit broken is kept as a breach.
 */
export async function measure(
  ctx: RunContext,
  workload: Workload,
  runtime: string,
  target: Target,
  dataset: DatasetPrompts | undefined,
  sweep?: WorkloadResult["sweep"],
): Promise<WorkloadResult> {
  const { opts, config, emit, calibration } = ctx;
  const out = ctx.writer as TraceWriter;
  const built = buildPlan(workload, config.model, calibration, dataset);
  const plan = ctx.noIgnoreEos.has(runtime) ? withoutIgnoreEos(built) : built;
  emit({ kind: "start", workload: workload.name, runtime, planned: plan.count });
  const from = await out.offset();
  const sampler = await serverSampler(ctx, target, runtime);
  let serverMetrics: ServerMetricsSummary | undefined;
  const watch = workload.saturation ? watchSaturation(workload.saturation, opts.signal) : undefined;
  const signal = watch?.signal ?? opts.signal;
  const sessionPlan = workload.sessions ? buildSessionPlan(workload, config.model, calibration) : undefined;
  const run = await (sessionPlan ? runSessions(sessionPlan) : runPlan)({
    target,
    plan,
    stallTimeoutMs: stallTimeoutMs(workload, ctx.references.get(runtime), longestPrompt(dataset)),
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
  if (run.interrupted && (stopped === undefined || opts.signal?.aborted)) ctx.interrupted = true;
  const to = await out.offset();
  const agg = new Aggregator({
    slo: workload.slo,
    ...(config.cost === undefined ? {} : { cost: config.cost }),
    ...(run.offeredRate === undefined ? {} : { offeredQps: run.offeredRate }),
    tokenSource: calibration.source,
    ignoreEosSent: !ctx.noIgnoreEos.has(runtime),
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
  if (breach) ctx.breaches.push(breach);
  if (stopped !== undefined) metrics.warnings.push(stopped.message);
  else if (run.notSent > 0)
    metrics.warnings.push(`${run.notSent} planned requests were never sent (the run was interrupted)`);
  const file = vllmFileOf(workload.name, runtime);
  const view = toVllmBenchServe(metrics, {
    model: config.model,
    backend: runtime,
    date: ctx.startedAt,
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
  ctx.vllmFiles.push(file);
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
async function serverSampler(ctx: RunContext, target: Target, runtime: string) {
  const { opts } = ctx;
  if (opts.serverMetrics === false) return undefined;
  const catalogue = opts.runtimes.metricSeries(runtime);
  try {
    let ok = ctx.hasServerMetrics.get(target.baseUrl);
    if (ok === undefined) {
      ok = await probeServerMetrics(target.baseUrl, {
        catalogue,
        ...(target.headers ? { headers: target.headers } : {}),
      });
      ctx.hasServerMetrics.set(target.baseUrl, ok);
    }
    if (!ok) return undefined;
    return startServerMetricsSampler(target.baseUrl, {
      catalogue,
      ...(opts.serverMetrics?.intervalMs === undefined ? {} : { intervalMs: opts.serverMetrics.intervalMs }),
      ...(target.headers ? { headers: target.headers } : {}),
    });
  } catch {
    return undefined;
  }
}
