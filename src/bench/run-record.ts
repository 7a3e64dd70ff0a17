/**
 * What a run writes: the `vllm/` folder and `requests.jsonl` once every target answered its check
 * (a resumed run keeps the traces of the pairs it finished), and at the end `result.json`, with
 * the run's status and every API key a target echoed redacted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keepTraces } from "./checkpoint.js";
import { environment } from "./environment.js";
import { redactValue, secretsOfHeaders } from "./redact.js";
import type { RunContext } from "./run-context.js";
import { type BenchResult, RESULT_SCHEMA } from "./run-types.js";
import { runFailure } from "./run-verdict.js";
import { TraceWriter } from "./trace-io.js";

/** Creates the output folders and opens `requests.jsonl`; the writer is also kept in `ctx.writer`. */
export function openTraces(ctx: RunContext): TraceWriter {
  const { opts } = ctx;
  mkdirSync(join(opts.outDir, "vllm"), { recursive: true });
  // A resumed run keeps the traces of the pairs it finished and drops those of the one cut short.
  if (opts.resume !== undefined) keepTraces(join(opts.outDir, "requests.jsonl"), opts.resume);
  ctx.writer = new TraceWriter(join(opts.outDir, "requests.jsonl"));
  return ctx.writer;
}

/**
 * The run's result with its status: `incomplete` when interrupted, else `failed` when a workload
 * broke its error limit, else `complete`. Written to `result.json` and returned.
 */
export function recordResult(ctx: RunContext): BenchResult {
  const { opts, config, calibration, targets, results } = ctx;
  const failure = runFailure(ctx.breaches);
  const result: BenchResult = {
    schema: RESULT_SCHEMA,
    id: opts.outDir.split(/[\\/]/).pop() ?? "run",
    status: ctx.interrupted ? "incomplete" : failure ? "failed" : "complete",
    startedAt: ctx.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ...(opts.configFile === undefined ? {} : { configFile: opts.configFile }),
    ...(opts.invocation === undefined ? {} : { invocation: opts.invocation }),
    seed: config.seed,
    config,
    environment: environment(),
    targets,
    calibration: { ...calibration, words: calibration.words.length },
    checks: ctx.checks,
    results,
    sweeps: ctx.sweeps,
    ...(failure === undefined || ctx.interrupted ? {} : { failure }),
    warnings: [
      ...targets.flatMap((t) => (t.warnings ?? []).map((w) => `${t.runtime} worker: ${w.message}`)),
      ...ctx.warnings,
      ...results.flatMap((r) => r.metrics.warnings.map((w) => `${r.workload} on ${r.runtime}: ${w}`)),
    ],
    files: { requests: "requests.jsonl", vllm: ctx.vllmFiles },
  };
  // What a target answered (health, errors) is recorded without any API key it echoed.
  const recorded = redactValue(result, [...ctx.auth.values()].flatMap(secretsOfHeaders));
  writeFileSync(join(opts.outDir, "result.json"), `${JSON.stringify(recorded, null, 2)}\n`);
  return result;
}
