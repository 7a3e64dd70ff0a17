/**
 * `tokenforge bench [CONFIG]`: runs a benchmark config (or, with none, a short default workload
 * on a local worker serving a synthetic model), shows live progress on stderr, prints the table
 * and writes the result files. Ctrl-C stops sending, ends requests in flight as incomplete and
 * still writes everything, marked incomplete (exit 130). A run whose errors broke a workload's
 * limit is written marked failed, its most frequent errors printed on stderr (exit 1); a failed
 * first-request check stops the run before anything is written (exit 2 when the server refused
 * the request as the config's fault, else 1).
 */
import { basename, dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { configFromObject, DEFAULT_WORKLOAD, loadConfig } from "../bench/config.js";
import { readConfigValue } from "../bench/config-text.js";
import { BenchMetrics } from "../bench/live-metrics.js";
import { type BenchEvent, type BenchResult, runBenchmark } from "../bench/run.js";
import { failureLines } from "../bench/run-verdict.js";
import { sweepLine } from "../bench/sweep.js";
import { renderTable } from "../bench/table.js";
import type { BenchConfig } from "../bench/types.js";
import type { TokenForgeEnv } from "../config.js";
import { TokenForgeError } from "../errors.js";
import { writeReport } from "../report/write.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import { startMetricsServer } from "../telemetry/metrics-server.js";
import {
  ATTACHED_RUNTIME,
  addWorkloadFlags,
  givenFlags,
  overlay,
  type WorkloadFlags,
} from "./bench-flags.js";
import { port, positiveInt, seedArg } from "./parse.js";
import { gatewayConn, gatewayRequest, printRun, type RunView } from "./remote.js";

interface BenchFlags extends WorkloadFlags {
  out?: string;
  json: boolean;
  model: string;
  runtime: string;
  target?: string;
  seed?: number;
  parallel?: number;
  quiet: boolean;
  vllmDetailed: boolean;
  metricsPort?: number;
  server?: string;
}

export const DEFAULT_BENCH_MODEL = "synthetic:tiny";

export function registerBenchCommand(program: Command, env: TokenForgeEnv, runtimes: RuntimeRegistry): void {
  const bench = program
    .command("bench")
    .description(
      "run a benchmark config; with none, a short default workload on a local synthetic model. " +
        "vllm bench serve's flags (--base-url, --request-rate, --num-prompts, ...) need no config, " +
        "and win over a config's values",
    )
    .argument("[config]", "workload config (YAML or JSON); flags below override its values")
    .option(
      "--out <dir>",
      "directory for result.json, requests.jsonl and vllm/ (default results/<time>-<name>)",
    )
    .option("--json", "print the result JSON on stdout instead of the table", false)
    .option("--model <ref>", "model to serve or request (overrides the config's)", DEFAULT_BENCH_MODEL)
    .option(
      "--runtime <name>",
      `runtime to start, or to label the --base-url server with (default llamacpp; ${ATTACHED_RUNTIME} with --base-url)`,
      "llamacpp",
    )
    .option("--target <url>", "the same as --base-url")
    .option("--seed <n>", "override the config's seed", seedArg)
    .option("--parallel <n>", "sequences per local worker (passed as --parallel)", positiveInt)
    .option("--vllm-detailed", "add per-request arrays to the vLLM-format files (as --save-detailed)", false)
    .option(
      "--metrics-port <port>",
      "serve the run's live Prometheus series on 127.0.0.1:<port>/metrics",
      port,
    )
    .option("--server <url>", "run it on a gateway (POST /benchmarks/run) instead of here")
    .option("--quiet", "no live progress", false);
  addWorkloadFlags(bench).action(async (configPath: string | undefined, flags: BenchFlags, cmd: Command) => {
    const given = givenFlags(flags, cmd);
    if (flags.server !== undefined) {
      const named = Object.keys(given).filter((k) => k !== "model" && k !== "runtime");
      if (named.length > 0) {
        throw new TokenForgeError(
          "invalid_request",
          `--server runs the config file as written; put ${named.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")} in the file instead`,
          { field: "server" },
        );
      }
      await benchOnServer(configPath, flags, env);
      return;
    }
    if (flags.target !== undefined) given.baseUrl ??= checkUrl(flags.target).replace(/\/+$/, "");
    const file = configPath === undefined ? undefined : readConfigValue(configPath);
    if (configPath === undefined && given.baseUrl === undefined) runtimes.get(flags.runtime);
    const base =
      file ??
      ({
        model: flags.model,
        runtimes: [given.runtime ?? (given.baseUrl === undefined ? flags.runtime : ATTACHED_RUNTIME)],
        workloads: [DEFAULT_WORKLOAD],
      } as Record<string, unknown>);
    const merged =
      typeof base === "object" && base !== null && !Array.isArray(base)
        ? overlay(base as Record<string, unknown>, given)
        : base;
    let config: BenchConfig = configFromObject(merged, {
      baseDir: configPath === undefined ? process.cwd() : dirname(resolve(configPath)),
      source: configPath ?? "the command line",
    });
    if (flags.seed !== undefined) config = withSeed(config, flags.seed);
    const invocation = {
      ...(file === undefined ? {} : { file }),
      flags: { ...given, ...(flags.seed === undefined ? {} : { seed: flags.seed }) },
    };
    const name =
      configPath === undefined
        ? "default"
        : (configPath.split(/[\\/]/).pop() ?? "run").replace(/\.[^.]+$/, "");
    const outDir = resolve(flags.out ?? `${env.resultsDir}/${stamp(new Date())}-${name}`);

    const metrics = flags.metricsPort === undefined ? undefined : new BenchMetrics(basename(outDir));
    const metricsServer =
      metrics === undefined
        ? undefined
        : await startMetricsServer(metrics.registry, { port: flags.metricsPort });
    if (metricsServer) process.stderr.write(`live metrics at ${metricsServer.url}/metrics\n`);
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write(
        "\ninterrupted: finishing requests in flight as incomplete and writing results (Ctrl-C again to quit now)\n",
      );
      controller.abort();
    };
    process.on("SIGINT", onSigint);
    const show = progressPrinter(flags.quiet);
    try {
      const result = await runBenchmark({
        config,
        ...(configPath === undefined ? {} : { configFile: resolve(configPath) }),
        invocation,
        runtimes,
        outDir,
        onEvent: show,
        signal: controller.signal,
        workerArgs: flags.parallel === undefined ? [] : ["--parallel", String(flags.parallel)],
        vllmDetailed: flags.vllmDetailed,
        ...(metrics === undefined ? {} : { metrics }),
        secrets: env.secret,
      });
      show.end();
      const report = reportBeside(outDir);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        const rows = result.results.map((r) => ({
          workload: r.workload,
          runtime: r.runtime,
          metrics: r.metrics,
        }));
        process.stdout.write(`${renderTable(rows, { color: process.stdout.isTTY === true })}\n`);
        // Lag warnings are already footnotes of the table.
        const footnotes = new Set(
          result.results.flatMap((r) =>
            r.metrics.lagMessage ? [`${r.workload} on ${r.runtime}: ${r.metrics.lagMessage}`] : [],
          ),
        );
        for (const w of result.warnings) if (!footnotes.has(w)) process.stdout.write(`warning: ${w}\n`);
        for (const s of result.sweeps) process.stdout.write(`${sweepLine(s)}\n`);
        process.stdout.write(`${STATUS_WORDS[result.status]} in ${outDir}\n`);
        if (report !== undefined) process.stdout.write(`report: ${report}\n`);
      }
      if (result.failure !== undefined) {
        process.stderr.write(`run failed: ${failureLines(result.failure).join("\n")}\n`);
      }
      if (result.status === "incomplete") process.exitCode = 130;
      else if (result.status === "failed") process.exitCode = 1;
    } finally {
      show.end();
      process.off("SIGINT", onSigint);
      await metricsServer?.close();
    }
  });
}

const STATUS_WORDS: Record<BenchResult["status"], string> = {
  complete: "results",
  incomplete: "partial results (incomplete)",
  failed: "results of a failed run",
};

/** Writes `report.html` beside the result; a failure is a warning, the results stand. */
function reportBeside(outDir: string): string | undefined {
  try {
    return writeReport(join(outDir, "result.json")).path;
  } catch (err) {
    process.stderr.write(`warning: could not write the HTML report: ${(err as Error).message}\n`);
    return undefined;
  }
}

function checkUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === "http:" || u.protocol === "https:") return value;
  } catch {
    // reported below
  }
  throw new TokenForgeError("invalid_request", `--target: expected an http(s) URL, got "${value}"`, {
    field: "target",
  });
}

function withSeed(config: BenchConfig, seed: number): BenchConfig {
  const shift = seed - config.seed;
  return { ...config, seed, workloads: config.workloads.map((w) => ({ ...w, seed: w.seed + shift })) };
}

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")
    .replace("T", "-");
}

type Printer = ((e: BenchEvent) => void) & { end(): void };

/** Live progress on stderr: one rewritten line on a terminal, a line every 5 s otherwise. */
function progressPrinter(quiet: boolean): Printer {
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  let open = false;
  const fmt = (n: number | undefined) => (n === undefined ? "–" : n < 10 ? n.toFixed(1) : n.toFixed(0));
  const fn = ((e: BenchEvent) => {
    if (quiet) return;
    if (e.kind === "log") {
      if (open) process.stderr.write("\n");
      open = false;
      process.stderr.write(`${e.message}\n`);
      return;
    }
    if (e.kind === "start") {
      if (open) process.stderr.write("\n");
      open = false;
      const n = Number.isFinite(e.planned) ? `${e.planned} requests` : "for its duration";
      process.stderr.write(`running ${e.workload} on ${e.runtime} (${n})\n`);
      return;
    }
    if (e.kind === "result") return;
    const p = e.progress;
    const total = Number.isFinite(p.total) ? `/${p.total}` : "";
    const line = `  ${p.phase === "warmup" ? "warmup " : ""}${p.done}${total} done · ${p.inFlight} in flight · ${p.errors} errors · ${p.achievedRate.toFixed(2)} req/s · TTFT p50 ${fmt(p.ttftP50Ms)} ms p99 ${fmt(p.ttftP99Ms)} ms · ${p.elapsedS.toFixed(0)} s`;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
      open = true;
    } else if (performance.now() - lastLine > 5000) {
      lastLine = performance.now();
      process.stderr.write(`${line}\n`);
    }
  }) as Printer;
  fn.end = () => {
    if (open) process.stderr.write("\n");
    open = false;
  };
  return fn;
}

/** `bench --server`: the config is checked here, run by the gateway, followed until it ends. */
async function benchOnServer(
  configPath: string | undefined,
  flags: BenchFlags,
  env: TokenForgeEnv,
): Promise<void> {
  if (configPath === undefined) {
    throw new TokenForgeError("invalid_request", "bench --server needs a config file", { field: "config" });
  }
  loadConfig(configPath);
  const raw = readConfigValue(configPath);
  // The key comes from $TOKENFORGE_API_KEY, as for every command that calls a gateway.
  const server = gatewayConn({ server: flags.server }, env);
  const started = await gatewayRequest<{ id: string }>(server, "POST", "/benchmarks/run", raw);
  process.stderr.write(`run ${started.id} started on ${server.url}\n`);
  for (;;) {
    const run = await gatewayRequest<
      RunView & { progress?: { done: number; total: number; workload: string; runtime: string } }
    >(server, "GET", `/benchmarks/${started.id}`);
    if (run.status !== "queued" && run.status !== "running") {
      if (flags.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
      else process.stdout.write(printRun(run));
      if (run.status === "failed") process.exitCode = 1;
      else if (run.status !== "complete") process.exitCode = 130;
      return;
    }
    const p = run.progress;
    if (p && !flags.quiet)
      process.stderr.write(
        `  ${p.workload} on ${p.runtime}: ${p.done}/${Number.isFinite(p.total) ? p.total : "?"} done\n`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
