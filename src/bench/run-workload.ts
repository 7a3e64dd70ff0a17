/**
 * The measured part of a run: every workload against every runtime with the same plan, in config
 * order. A workload is one measured run, a concurrency ramp (one run per level), or a sweep (an
 * SLO search, or synchronous and throughput baselines then rates between them). Each finished
 * workload × runtime pair is checkpointed before the next starts; pairs a resumed run already
 * finished are carried over, not run again.
 */
import { PAIR_SCHEMA, writeCheckpoint } from "./checkpoint.js";
import type { Target } from "./client.js";
import type { DatasetPrompts } from "./plan.js";
import { concurrencyStages } from "./ramp.js";
import { datasetOf, type RunContext, targetOf } from "./run-context.js";
import { measure } from "./run-measure.js";
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
import type { TargetInfo } from "./targets.js";
import type { TraceWriter } from "./trace-io.js";
import type { Workload } from "./types.js";
import { vllmFileOf } from "./vllm-view.js";

/** Keeps a finished pair on disk (its results from index `from` on) before the next one starts. */
type Checkpoint = (from: number, sweep?: SweepSummary) => Promise<void>;

/** Runs (or carries over from `opts.resume`) every workload × runtime pair until done or interrupted. */
export async function runWorkloads(ctx: RunContext, traces: TraceWriter): Promise<void> {
  const { opts, config, targets, results } = ctx;
  const finished = new Map((opts.resume ?? []).map((p) => [`${p.workload}\u0000${p.runtime}`, p]));
  const checkpointOf =
    (workload: string, runtime: string): Checkpoint =>
    async (from, sweep) => {
      if (ctx.interrupted) return;
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
    if (ctx.interrupted) break;
    const pending = targets.filter((t) => !finished.has(`${workload.name}\u0000${t.runtime}`));
    const dataset = pending.length > 0 ? await datasetOf(ctx, workload) : undefined;
    for (const t of targets) {
      if (ctx.interrupted) break;
      const done = finished.get(`${workload.name}\u0000${t.runtime}`);
      if (done !== undefined) {
        results.push(...done.results);
        if (done.sweep) ctx.sweeps.push(done.sweep);
        ctx.vllmFiles.push(...done.results.map((r) => vllmFileOf(r.workload, r.runtime)));
        continue;
      }
      await runPair(ctx, workload, t, dataset, checkpointOf(workload.name, t.runtime));
    }
  }
}

/** Runs one workload on one runtime, in whichever shape the workload asks for, then checkpoints it. */
async function runPair(
  ctx: RunContext,
  workload: Workload,
  t: TargetInfo,
  dataset: DatasetPrompts | undefined,
  checkpoint: Checkpoint,
): Promise<void> {
  const target = targetOf(ctx, t, workload);
  const from = ctx.results.length;
  if (workload.ramp?.of === "concurrency") {
    for (const [k, stage] of concurrencyStages(workload).entries()) {
      if (ctx.interrupted) break;
      const r = await measure(ctx, stage.workload, t.runtime, target, dataset);
      ctx.results.push({ ...r, ramp: { of: workload.name, step: k + 1, concurrency: stage.concurrency } });
    }
    await checkpoint(from);
    return;
  }
  if (workload.sweep === undefined) {
    const r = await measure(ctx, workload, t.runtime, target, dataset);
    ctx.results.push(r);
    await checkpoint(from);
    return;
  }
  if ("search" in workload.sweep) {
    const summary = await searchSweep(workload, t.runtime, workload.sweep.search, async (w, kind) => {
      if (ctx.interrupted) return undefined;
      const r = await measure(ctx, w, t.runtime, target, dataset, { of: workload.name, kind });
      ctx.results.push(r);
      if (ctx.interrupted) return undefined;
      return { metrics: r.metrics, ...(r.stopped ? { stopped: r.stopped.message } : {}) };
    });
    ctx.sweeps.push(summary);
    for (const note of summary.search?.notes ?? [])
      ctx.warnings.push(`sweep ${workload.name} on ${t.runtime}: ${note}`);
    await checkpoint(from, summary);
    return;
  }
  const summary = await rateSweep(ctx, workload, workload.sweep.points, t.runtime, target, dataset);
  ctx.sweeps.push(summary);
  await checkpoint(from, summary);
}

/**
 * A rate sweep: synchronous and throughput baselines, then `points` rates between their request
 * throughputs, stopping at the first rate the saturation stop cut short.
 */
async function rateSweep(
  ctx: RunContext,
  workload: Workload,
  count: number,
  runtime: string,
  target: Target,
  dataset: DatasetPrompts | undefined,
): Promise<SweepSummary> {
  const points: SweepPoint[] = [];
  const stages: [Workload, SweepPoint["kind"]][] = [
    [synchronousStage(workload), "synchronous"],
    [throughputStage(workload), "throughput"],
  ];
  for (const [w, kind] of stages) {
    if (ctx.interrupted) break;
    const r = await measure(ctx, w, runtime, target, dataset, { of: workload.name, kind });
    ctx.results.push(r);
    points.push({ label: w.name, kind, metrics: r.metrics });
  }
  const syncRate = points[0]?.metrics.requestThroughput;
  const maxRate = points[1]?.metrics.requestThroughput;
  if (!ctx.interrupted && syncRate !== undefined && maxRate !== undefined) {
    for (const qps of sweepRates(syncRate, maxRate, count)) {
      if (ctx.interrupted) break;
      const w = rateStage(workload, qps);
      const r = await measure(ctx, w, runtime, target, dataset, { of: workload.name, kind: "rate" });
      ctx.results.push(r);
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
  } else if (!ctx.interrupted) {
    ctx.warnings.push(
      `sweep ${workload.name} on ${runtime}: no request completed in a baseline stage; rates skipped`,
    );
  }
  return summarizeSweep(workload, runtime, points);
}
