/**
 * `tokenforge sim [flags]`: the simulated OpenAI-compatible server (flags: src/runtimes/sim/cli.ts);
 * `tokenforge sim fit RUN`: a performance model fitted to a measured run, with its error;
 * `tokenforge sim capacity`: how many replicas of a model hold latency targets at a rate.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { loadConfig, workloadOf } from "../bench/config.js";
import { readTraces } from "../bench/trace-io.js";
import type { Workload } from "../bench/types.js";
import {
  type CapacityResult,
  parseTarget,
  planCapacity,
  targetName,
  workloadArrivals,
} from "../capacity/capacity.js";
import { fitPerfModel } from "../capacity/fit.js";
import { FitError, type FitReport, type TraceLine } from "../capacity/fit-types.js";
import { TokenForgeError } from "../errors.js";
import { runSim } from "../runtimes/sim/cli.js";
import { describePerfModel, loadPerfModel, toPerfModelFile } from "../runtimes/sim/perf-model.js";
import { positiveInt, positiveNumber, seedArg } from "./parse.js";

export function registerSimCommand(program: Command): void {
  const sim = program
    .command("sim")
    .description(
      "serve a simulated OpenAI-compatible engine (fixed delays, or --perf MODEL), fit a model to a run, plan capacity",
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument(
      "[flags...]",
      "the simulator's own flags, e.g. --port 8000 --ttft-ms 50 --itl-ms 10 (--help lists them)",
    )
    .action(async (flags: string[]) => {
      await runSim(flags);
      // The simulator prints its own flags; the subcommands are this command's to list.
      if (flags.includes("--help") || flags.includes("-h")) {
        const lines = sim.commands.map((c) => `  sim ${c.name()} ${c.usage()}\n      ${c.description()}`);
        process.stdout.write(`\nCommands (tokenforge sim <command> --help for each):\n${lines.join("\n")}\n`);
      }
    });

  // The parent hands its own flags to the simulator, help included; the subcommands have theirs.
  sim
    .command("fit")
    .helpOption("-h, --help", "display help for command")
    .description("fit the simulated engine's performance model to a benchmark run and report the fit's error")
    .argument("<run>", "a run directory (result.json + requests.jsonl) or a requests.jsonl file")
    .option("--runtime <name>", "the runtime whose requests to fit (required when the run has several)")
    .option(
      "--workloads <names>",
      "fit on these workloads (comma-separated); the others are reported as held out",
    )
    .option(
      "--max-batch <n>",
      "sequences in a batch at most (default: the target's /health `parallel`)",
      positiveInt,
    )
    .option(
      "--kv-cache-tokens <n>",
      "KV-cache capacity in tokens (default: the target's /health `contextLength` × the batch)",
      positiveInt,
    )
    .option(
      "--max-batched-tokens <n>",
      "tokens one engine step processes at most, for engines that prefill in chunks (default: no limit)",
      positiveInt,
    )
    .option("--no-refine", "keep the prefill estimate from the steps alone (no search by replay)")
    .option("-o, --out <file>", "where to write the model (default: RUN/sim-perf.json)")
    .option("--json", "print the whole fit report as JSON")
    .action((run: string, opts: FitCliOptions) => {
      simFit(run, opts, process.stdout);
    });

  sim
    .command("capacity")
    .helpOption("-h, --help", "display help for command")
    .description("the fewest replicas of a performance model that meet latency targets at a request rate")
    .requiredOption("--perf <file|json>", "the performance model (tokenforge sim fit writes one)")
    .option("--config <file>", "take the workload (rate, lengths, arrivals, seed) from a benchmark config")
    .option("--workload <name>", "the config's workload to use (default: its first)")
    .option("--qps <rate>", "offered request rate, req/s (overrides the config's)", positiveNumber)
    .option("--requests <n>", "requests to simulate (default: the config's, else 1000)", positiveInt)
    .option("--prompt-tokens <n>", "prompt tokens per request without --config (default 256)", positiveInt)
    .option("--output-tokens <n>", "output tokens per request without --config (default 128)", positiveInt)
    .option("--seed <n>", "seed of the arrivals and lengths (default: the config's, else 0)", seedArg)
    .option(
      "--slo <target>",
      "a latency target METRIC_STAT_ms=MS, repeatable (metric ttft|tpot|itl|e2e, stat mean|p50|p90|p95|p99)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--max-replicas <n>", "give up past this many replicas (default 64)", positiveInt)
    .option("--json", "print the result as JSON")
    .action((opts: CapacityCliOptions) => {
      simCapacity(opts, process.stdout);
    });
}

interface Out {
  write(s: string): unknown;
}

export interface FitCliOptions {
  runtime?: string;
  workloads?: string;
  maxBatch?: number;
  kvCacheTokens?: number;
  maxBatchedTokens?: number;
  /** commander's `--no-refine` sets false. */
  refine?: boolean;
  out?: string;
  json?: boolean;
}

/** `sim fit`: reads a run, fits, writes the model file, prints the report. */
export function simFit(run: string, opts: FitCliOptions, out: Out): FitReport {
  const isDir = existsSync(run) && statSync(run).isDirectory();
  const tracesPath = isDir ? join(run, "requests.jsonl") : run;
  if (!existsSync(tracesPath))
    throw new TokenForgeError("invalid_request", `no requests.jsonl at ${tracesPath}`, { field: "run" });
  const resultPath = join(dirname(tracesPath), "result.json");
  const result = existsSync(resultPath)
    ? (JSON.parse(readFileSync(resultPath, "utf8")) as RunFile)
    : undefined;
  let lines: TraceLine[];
  try {
    lines = [...readTraces(tracesPath)] as TraceLine[];
  } catch (err) {
    throw new TokenForgeError(
      "invalid_request",
      `${tracesPath} is not a trace file: ${(err as Error).message}`,
      {
        field: "run",
      },
    );
  }
  const runtimes = [...new Set(lines.map((t) => t.runtime))];
  const runtime = opts.runtime ?? (runtimes.length === 1 ? runtimes[0] : undefined);
  if (runtime === undefined)
    throw new TokenForgeError(
      "invalid_request",
      `the run holds several runtimes: choose one of ${runtimes.join(", ")}`,
      {
        field: "runtime",
      },
    );
  if (!runtimes.includes(runtime))
    throw new TokenForgeError(
      "invalid_request",
      `no requests of runtime ${runtime} (have: ${runtimes.join(", ")})`,
      {
        field: "runtime",
      },
    );
  const health = result?.targets?.find((t) => t.runtime === runtime)?.health;
  const fromHealth = (key: string): number | undefined => {
    const v =
      health !== null && typeof health === "object" ? (health as Record<string, unknown>)[key] : undefined;
    return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined;
  };
  const maxBatch = opts.maxBatch ?? fromHealth("parallel");
  if (maxBatch === undefined)
    throw new TokenForgeError(
      "invalid_request",
      "the run does not record the target's batch size (/health `parallel`): pass --max-batch",
      { field: "max-batch" },
    );
  // TokenForge's worker gives each of its `parallel` sequences `contextLength` KV cells.
  const perSequence = fromHealth("contextLength");
  const kvCacheTokens =
    opts.kvCacheTokens ?? (perSequence === undefined ? undefined : perSequence * maxBatch);
  if (kvCacheTokens === undefined)
    throw new TokenForgeError(
      "invalid_request",
      "the run does not record the target's context per sequence (/health `contextLength`): pass --kv-cache-tokens",
      { field: "kv-cache-tokens" },
    );
  const maxBatchedTokens = opts.maxBatchedTokens;
  const fitWorkloads = opts.workloads
    ?.split(",")
    .map((w) => w.trim())
    .filter((w) => w !== "");
  const closedLoop: Record<string, number> = {};
  for (const w of result?.config?.workloads ?? [])
    if (typeof w.concurrency === "number") closedLoop[w.name] = w.concurrency;
  let report: FitReport;
  try {
    report = fitPerfModel(
      lines.filter((t) => t.runtime === runtime),
      {
        maxBatch,
        kvCacheTokens,
        closedLoop,
        refine: opts.refine !== false,
        ...(maxBatchedTokens === undefined ? {} : { maxBatchedTokens }),
        ...(fitWorkloads ? { fitWorkloads } : {}),
      },
    );
  } catch (err) {
    if (err instanceof FitError) throw new TokenForgeError("invalid_request", err.message, { field: "run" });
    throw err;
  }
  const outPath = opts.out ?? join(dirname(tracesPath), "sim-perf.json");
  const file = toPerfModelFile(report.model, {
    source: {
      run: result?.id ?? tracesPath,
      runtime,
      model: result?.config?.model,
      ...(result?.environment === undefined ? {} : { environment: result.environment }),
      ...(health === undefined ? {} : { target: health }),
    },
    fittedAt: new Date().toISOString(),
    fittedOn: report.fittedOn,
    decode: report.decode,
    prefill: report.prefill,
    errors: report.errors,
    meanAbsRelError: report.meanAbsRelError,
  });
  writeFileSync(outPath, `${JSON.stringify(file, null, 2)}\n`);
  if (opts.json) out.write(`${JSON.stringify({ ...report, file: outPath }, null, 2)}\n`);
  else out.write(renderFit(report, outPath));
  return report;
}

interface RunFile {
  id?: string;
  environment?: unknown;
  config?: { model?: string; workloads?: Array<{ name: string; concurrency?: number }> };
  targets?: Array<{ runtime: string; health?: unknown }>;
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;

function renderFit(r: FitReport, outPath: string): string {
  const lines: string[] = [];
  lines.push(`fitted ${r.runtime} on ${r.fittedOn.join(", ")}`);
  lines.push(`model: ${describePerfModel(r.model)}`);
  lines.push(
    `decode: ${r.decode.samples} gaps; median step by batch: ${r.decode.byBatch
      .map((b) => `${b.batch}→${b.medianMs.toFixed(2)} ms (${b.samples})`)
      .join(", ")}`,
  );
  lines.push(
    `prefill: ${r.prefill.steps} steps; median time by prompt tokens prefilled: ${r.prefill.bins
      .map((b) => `${b.promptTokens} tok→${b.medianMs.toFixed(1)} ms`)
      .join(", ")}`,
  );
  if (r.decode.note) lines.push(`note: ${r.decode.note}`);
  if (r.prefill.note) lines.push(`note: ${r.prefill.note}`);
  const d = r.prefill.direct;
  if (d.tokensPerS !== r.model.prefillTokensPerS || d.overheadMs !== r.model.prefillOverheadMs)
    lines.push(
      `prefill refined by replay from ${d.tokensPerS.toFixed(0)} tok/s (+${d.overheadMs.toFixed(1)} ms), the steps' own estimate`,
    );
  lines.push("");
  lines.push("replayed through the fitted model (simulated vs measured):");
  for (const e of r.errors) {
    lines.push(
      `  ${e.workload}${e.heldOut ? " (held out)" : ""}: ${e.requests} requests, mean |error| ${(e.meanAbsRelError * 100).toFixed(1)}%`,
    );
    for (const f of e.figures)
      lines.push(
        `    ${f.metric.padEnd(20)} measured ${f.measured.toFixed(2).padStart(10)}  simulated ${f.simulated.toFixed(2).padStart(10)}  ${pct(f.relError)}`,
      );
  }
  const m = r.meanAbsRelError;
  lines.push(
    `fit error (mean |relative error|): ${m.fitted === undefined ? "" : `fitted workloads ${(m.fitted * 100).toFixed(1)}%`}${m.heldOut === undefined ? "" : `, held out ${(m.heldOut * 100).toFixed(1)}%`}`,
  );
  lines.push(`wrote ${outPath}`);
  return `${lines.join("\n")}\n`;
}

export interface CapacityCliOptions {
  perf: string;
  config?: string;
  workload?: string;
  qps?: number;
  requests?: number;
  promptTokens?: number;
  outputTokens?: number;
  seed?: number;
  slo?: string[];
  maxReplicas?: number;
  json?: boolean;
}

/** `sim capacity`: the workload from a config or flags, replayed on 1, 2, … replicas. */
export function simCapacity(opts: CapacityCliOptions, out: Out): CapacityResult {
  const model = loadPerfModel(opts.perf);
  let workload: Workload;
  if (opts.config !== undefined) {
    if (opts.promptTokens !== undefined || opts.outputTokens !== undefined)
      throw new TokenForgeError(
        "invalid_request",
        "--prompt-tokens and --output-tokens are for runs without --config",
        {
          field: "prompt-tokens",
        },
      );
    const config = loadConfig(opts.config);
    const found =
      opts.workload === undefined
        ? config.workloads[0]
        : config.workloads.find((w) => w.name === opts.workload);
    if (!found)
      throw new TokenForgeError(
        "invalid_request",
        `no workload ${opts.workload} in ${opts.config} (have: ${config.workloads.map((w) => w.name).join(", ")})`,
        { field: "workload" },
      );
    workload = { ...found };
  } else {
    if (opts.workload !== undefined)
      throw new TokenForgeError("invalid_request", "--workload needs --config", { field: "workload" });
    workload = workloadOf({
      name: "capacity",
      promptLen: { kind: "fixed", value: opts.promptTokens ?? 256 },
      genTokens: { kind: "fixed", value: opts.outputTokens ?? 128 },
      numRequests: 1000,
    });
  }
  if (opts.qps !== undefined) workload.qps = opts.qps;
  if (opts.requests !== undefined) {
    workload.numRequests = opts.requests;
    delete workload.durationS;
  }
  if (opts.seed !== undefined) workload.seed = opts.seed;
  if (workload.qps === undefined)
    throw new TokenForgeError(
      "invalid_request",
      "give the offered rate: --qps, or a config workload with qps",
      {
        field: "qps",
      },
    );
  const targets = (opts.slo ?? []).map((t) => parseTarget(t));
  if (targets.length === 0) {
    // A config's per-request SLOs become bounds on the p99.
    if (workload.slo.ttftMs !== undefined)
      targets.push({ metric: "ttft", stat: "p99", maxMs: workload.slo.ttftMs });
    if (workload.slo.tpotMs !== undefined)
      targets.push({ metric: "tpot", stat: "p99", maxMs: workload.slo.tpotMs });
    if (workload.slo.e2eMs !== undefined)
      targets.push({ metric: "e2e", stat: "p99", maxMs: workload.slo.e2eMs });
  }
  const arrivals = workloadArrivals(workload);
  const result = planCapacity(model, arrivals, targets, {
    qps: workload.qps,
    seed: workload.seed,
    ...(opts.maxReplicas === undefined ? {} : { maxReplicas: opts.maxReplicas }),
  });
  if (opts.json)
    out.write(
      `${JSON.stringify({ model: toPerfModelFile(model), workload: workload.name, ...result }, null, 2)}\n`,
    );
  else out.write(renderCapacity(result, describePerfModel(model)));
  if (result.replicas === undefined) process.exitCode = 1;
  return result;
}

function renderCapacity(r: CapacityResult, model: string): string {
  const lines = [
    `model: ${model}`,
    `workload: ${r.requests} requests at ${r.qps} req/s; targets: ${r.targets.map((t) => `${targetName(t)} ≤ ${t.maxMs}`).join(", ")}`,
    "",
    "replicas  ttft p50   ttft p99   tpot p50   e2e p99    out tok/s  mean batch  max waiting  misses",
  ];
  const f = (v: number | undefined) => (v === undefined ? "—" : v.toFixed(1)).padStart(9);
  for (const row of r.rows) {
    const l = row.latency;
    lines.push(
      `${String(row.replicas).padStart(8)} ${f(l.ttftMs?.p50)}  ${f(l.ttftMs?.p99)}  ${f(l.tpotMs?.p50)}  ${f(l.e2eMs?.p99)}  ${f(l.outputTokenThroughput)}  ${row.meanBatch.toFixed(1).padStart(10)}  ${String(row.maxWaiting).padStart(11)}  ${row.misses.join("; ") || "none"}`,
    );
  }
  lines.push("");
  lines.push(
    r.replicas === undefined
      ? `no replica count up to ${r.rows.length} meets every target`
      : `${r.replicas} replica${r.replicas === 1 ? "" : "s"} meet every target at ${r.qps} req/s`,
  );
  return `${lines.join("\n")}\n`;
}
