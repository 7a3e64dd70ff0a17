/**
 * A benchmark run end to end: attach to (or start) each runtime, fail before sending anything
 * when a target is unreachable, calibrate prompts once, send one check request to each target
 * (first-request.ts: a refusal stops the run with the server's message before any schedule),
 * then run every workload against every runtime with the same plan, aggregate each from its
 * traces on disk, judge whether the run stands (run-verdict.ts), and write the result files.
 *
 * The stages: run-prepare.ts (targets, calibration, the first-request check), run-workload.ts
 * (every workload × runtime pair, each measured by run-measure.ts) and run-record.ts (the files
 * written), sharing one run-context.ts. The result's shapes are in run-types.ts.
 *
 * Files in `outDir`: `result.json` (schema-versioned: config, seed, versions, machine, every
 * metric), `requests.jsonl` (one line per request, written as requests end) and
 * `vllm/<workload>.<runtime>.json` (each result in the layout of vLLM's `bench serve`).
 */
import { runContext } from "./run-context.js";
import { prepareRun } from "./run-prepare.js";
import { openTraces, recordResult } from "./run-record.js";
import type { BenchResult, BenchRunOptions } from "./run-types.js";
import { runWorkloads } from "./run-workload.js";

export {
  type BenchEvent,
  type BenchResult,
  type BenchRunOptions,
  type BenchStatus,
  type Invocation,
  RESULT_SCHEMA,
  type WorkloadResult,
} from "./run-types.js";

/** Runs the config; the returned result is also written to `outDir/result.json`. */
export async function runBenchmark(opts: BenchRunOptions): Promise<BenchResult> {
  const ctx = runContext(opts);
  try {
    await prepareRun(ctx);
    // Nothing is written before every target answered its check.
    const traces = openTraces(ctx);
    await runWorkloads(ctx, traces);
  } finally {
    await ctx.writer?.close();
    await ctx.runTargets.close();
  }
  return recordResult(ctx);
}
