/**
 * Result files for the site's tests: a fixed-rate run and a sweep on one engine, built by hand so
 * each figure is known (not measured).
 */
import type { WorkloadMetrics } from "../../src/bench/metric-types.js";
import { type BenchResult, RESULT_SCHEMA } from "../../src/bench/run.js";
import type { SweepPoint } from "../../src/bench/sweep.js";
import type { Workload } from "../../src/bench/types.js";

const summary = (p50: number) => ({
  count: 10,
  mean: p50,
  stdev: 1,
  p50,
  p90: p50,
  p95: p50,
  p99: p50 * 2,
  max: p50 * 2,
  min: 1,
});

export function metrics(rps: number, outTokS: number, ttft: number): WorkloadMetrics {
  return {
    counts: { total: 10, ok: 10, errored: 0, incomplete: 0 },
    requestThroughput: rps,
    inputTokenThroughput: outTokS * 4,
    outputTokenThroughput: outTokS,
    ttftMs: summary(ttft),
  } as never;
}

export const workload = (w: Partial<Workload> & { name: string }) => w as Workload;

export function result(
  id: string,
  startedAt: string,
  opts: {
    workloads?: Workload[];
    results?: BenchResult["results"];
    sweeps?: BenchResult["sweeps"];
    gpus?: string[];
  },
): BenchResult {
  return {
    schema: RESULT_SCHEMA,
    id,
    status: "complete",
    startedAt,
    finishedAt: startedAt,
    seed: 0,
    config: { model: "m", runtimes: ["llamacpp"], targets: {}, workloads: opts.workloads ?? [], seed: 0 },
    environment: {
      tokenforge: "0.1.0",
      node: "v22",
      undici: "7",
      platform: "linux",
      osRelease: "6",
      arch: "x64",
      cpuModel: "AMD EPYC 7B13",
      cpuCount: 2,
      memoryBytes: 8 * 2 ** 30,
      hostname: "h",
      ...(opts.gpus ? { gpus: opts.gpus } : {}),
    },
    targets: [{ runtime: "llamacpp", url: "http://x", mode: "local", health: {} }],
    calibration: { source: "server-tokenize", overhead: 1, words: 256, detail: "" },
    results: opts.results ?? [],
    sweeps: opts.sweeps ?? [],
    warnings: [],
    files: { requests: "requests.jsonl", vllm: [] },
  } as BenchResult;
}

export const row = (name: string, m: WorkloadMetrics, extra: object = {}, runtime = "llamacpp") =>
  ({
    workload: name,
    runtime,
    run: { interrupted: false, sent: 10, notSent: 0, queued: 0, windowStartMs: 0, windowEndMs: 1000 },
    metrics: m,
    ...extra,
  }) as BenchResult["results"][number];

/** A fixed-rate run at 2 req/s: 20 output tok/s. */
export const lowLoad = (id: string, at: string) =>
  result(id, at, {
    workloads: [workload({ name: "quick", qps: 2 })],
    results: [row("quick", metrics(2, 20, 30))],
  });

/**
 * A sweep whose highest rate meeting the SLOs is 8 req/s (400 tok/s); saturation made 500 tok/s.
 * `speed` scales every throughput (another engine), `runtime` names the runtime.
 */
export function sweepRun(
  id: string,
  at: string,
  gpus?: string[],
  runtime = "llamacpp",
  speed = 1,
): BenchResult {
  const points: SweepPoint[] = [
    { label: "sw/synchronous", kind: "synchronous", metrics: metrics(1, 50 * speed, 20) },
    { label: "sw/throughput", kind: "throughput", metrics: metrics(10, 500 * speed, 900 / speed) },
    { label: "sw/4.00rps", kind: "rate", offeredQps: 4, metrics: metrics(4, 200 * speed, 25) },
    { label: "sw/8.00rps", kind: "rate", offeredQps: 8, metrics: metrics(8, 400 * speed, 60 / speed) },
  ];
  return result(id, at, {
    workloads: [workload({ name: "sw", sweep: { points: 2 } })],
    results: points.map((p) => row(p.label, p.metrics, { sweep: { of: "sw", kind: p.kind } }, runtime)),
    sweeps: [
      {
        workload: "sw",
        runtime,
        points,
        maxRateMeetingSlo: 8,
        sloAttainment: 0.99,
        mode: "points",
      },
    ],
    ...(gpus ? { gpus } : {}),
  });
}
