/**
 * Fitting the simulated engine's performance model to traces, and capacity planning with it.
 * The fit is checked twice: on traces the model itself produced in virtual time (it must recover
 * the parameters closely), and end to end on a real benchmark run over HTTP against the sim server
 * timed by a known model (it must recover them within timer noise, and report a small error).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import { parseTarget, planCapacity, workloadArrivals } from "../../src/capacity/capacity.js";
import { fitPerfModel } from "../../src/capacity/fit.js";
import { weightedLine } from "../../src/capacity/fit-math.js";
import type { TraceLine } from "../../src/capacity/fit-types.js";
import { replay, replayMetrics, replayTraces, type SimArrival } from "../../src/capacity/replay.js";
import { simFit } from "../../src/cli/sim.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { simRuntime } from "../../src/runtimes/sim/index.js";
import {
  loadPerfModel,
  type PerfModel,
  toPerfModel,
  toPerfModelFile,
} from "../../src/runtimes/sim/perf-model.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "src", "cli", "tokenforge.ts");

const TRUE: PerfModel = {
  prefillTokensPerS: 5000,
  prefillOverheadMs: 4,
  decode: { kind: "linear", baseMs: 12, perSeqMs: 1.5 },
  maxBatch: 8,
  kvCacheTokens: 100_000,
  jitter: 0,
};

/** Traces as the harness would record them of a replay: sends at arrival, a chunk per token. */
function tracesOf(model: PerfModel, workload: string, arrivals: SimArrival[], seed = 0): TraceLine[] {
  return replayTraces(arrivals, replay(model, arrivals, { seed })).map((t) => ({
    ...t,
    workload,
    runtime: "engine",
  }));
}

/** Poisson-ish arrivals from a fixed list of gaps, prompts spread over 50..1500 tokens. */
function arrivalsAt(qps: number, n: number, offset = 0): SimArrival[] {
  let t = 0;
  return Array.from({ length: n }, (_, i) => {
    t += (1000 / qps) * (0.25 + ((i * 7919 + offset) % 150) / 100);
    return { atMs: t, promptTokens: 50 + ((i * 2654435761 + offset) % 1451), outputTokens: 40 };
  });
}

describe("fitting a performance model", () => {
  it("recovers the parameters of the model that made the traces", () => {
    const lines = [
      ...tracesOf(TRUE, "slow", arrivalsAt(1, 60)),
      ...tracesOf(TRUE, "mid", arrivalsAt(8, 120, 3)),
      ...tracesOf(TRUE, "busy", arrivalsAt(20, 160, 5)),
    ];
    const r = fitPerfModel(lines, { maxBatch: 8, kvCacheTokens: 100_000 });
    expect(r.model.prefillTokensPerS / TRUE.prefillTokensPerS).toBeGreaterThan(0.9);
    expect(r.model.prefillTokensPerS / TRUE.prefillTokensPerS).toBeLessThan(1.1);
    expect(Math.abs(r.model.prefillOverheadMs - 4)).toBeLessThan(4);
    expect(r.model.decode).toMatchObject({ kind: "linear" });
    const d = r.model.decode as { baseMs: number; perSeqMs: number };
    expect(Math.abs(d.baseMs - 12)).toBeLessThan(1);
    expect(Math.abs(d.perSeqMs - 1.5)).toBeLessThan(0.2);
    expect(r.decode.byBatch.length).toBeGreaterThan(3);
    expect(r.meanAbsRelError.fitted!).toBeLessThan(0.05);
    expect(r.meanAbsRelError.heldOut).toBeUndefined();
    expect(r.errors.map((e) => e.workload)).toEqual(["slow", "mid", "busy"]);
  });

  it("reports workloads it was not fitted on as held out", () => {
    const lines = [...tracesOf(TRUE, "a", arrivalsAt(4, 80)), ...tracesOf(TRUE, "b", arrivalsAt(15, 100, 1))];
    const r = fitPerfModel(lines, { maxBatch: 8, kvCacheTokens: 100_000, fitWorkloads: ["a"] });
    expect(r.fittedOn).toEqual(["a"]);
    expect(r.errors.find((e) => e.workload === "b")?.heldOut).toBe(true);
    expect(r.meanAbsRelError.heldOut).toBeDefined();
    expect(() => fitPerfModel(lines, { maxBatch: 8, kvCacheTokens: 100_000, fitWorkloads: ["zz"] })).toThrow(
      /workload zz has no completed requests/,
    );
  });

  it("sets the prefill overhead to 0 when every prompt has one length, and says so", () => {
    const arrivals = arrivalsAt(2, 40).map((a) => ({ ...a, promptTokens: 500 }));
    const r = fitPerfModel(tracesOf(TRUE, "w", arrivals), { maxBatch: 8, kvCacheTokens: 100_000 });
    expect(r.prefill.note).toMatch(/overhead set to 0/);
    expect(r.model.prefillOverheadMs).toBe(0);
  });

  it("refuses traces it cannot fit", () => {
    expect(() => fitPerfModel([], { maxBatch: 1, kvCacheTokens: 10 })).toThrow(/no completed/);
    const one = tracesOf(TRUE, "w", [{ atMs: 0, promptTokens: 10, outputTokens: 1 }]);
    expect(() => fitPerfModel(one, { maxBatch: 1, kvCacheTokens: 100 })).toThrow(/two or more chunks/);
    const two = [...one, { ...one[0]!, runtime: "other" }];
    expect(() => fitPerfModel(two, { maxBatch: 1, kvCacheTokens: 100 })).toThrow(/several runtimes/);
  });

  it("fits lines with non-negative slope and intercept", () => {
    expect(
      weightedLine([
        { x: 1, y: 3, w: 1 },
        { x: 3, y: 7, w: 1 },
      ]),
    ).toEqual({ intercept: 1, slope: 2 });
    // A falling line is not an engine: flat at the weighted mean.
    expect(
      weightedLine([
        { x: 1, y: 4, w: 1 },
        { x: 2, y: 2, w: 1 },
      ]),
    ).toEqual({ intercept: 3, slope: 0 });
    // A negative intercept: through the origin.
    const l = weightedLine([
      { x: 1, y: 1, w: 1 },
      { x: 2, y: 4, w: 1 },
    ]);
    expect(l.intercept).toBe(0);
    expect(l.slope).toBeCloseTo(9 / 5, 9);
  });
});

describe("a fit of a real run against the sim server", () => {
  const known = {
    prefill_tokens_per_s: 20_000,
    prefill_overhead_ms: 4,
    decode: { base_ms: 6, per_seq_ms: 1.5 },
    max_batch: 4,
    kv_cache_tokens: 50_000,
  };
  let sim: SimChild;
  let dir: string;
  beforeAll(async () => {
    sim = await startSimChild({ perf: known, noGroundTruth: true });
    dir = mkdtempSync(join(tmpdir(), "tokenforge-fit-"));
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("recovers the server's model from the harness's traces and reports the fit's error", async () => {
    const w = (name: string, concurrency: number, numRequests: number) =>
      workloadOf({
        name,
        concurrency,
        numRequests,
        promptLen: { kind: "uniform", min: 50, max: 1500 },
        genTokens: { kind: "fixed", value: 16 },
        seed: 11,
      });
    const out = join(dir, "run");
    await runBenchmark({
      config: {
        model: "sim",
        runtimes: ["sim"],
        targets: { sim: sim.url },
        workloads: [w("c1", 1, 12), w("c4", 4, 32)],
        seed: 11,
      },
      runtimes: new RuntimeRegistry([simRuntime({ command: process.execPath, args: [] })]),
      outDir: out,
    });
    let printed = "";
    const report = simFit(
      out,
      { maxBatch: 4, kvCacheTokens: 50_000 },
      { write: (s: string) => (printed += s) },
    );
    const m = report.model;
    // Timers fire late by up to a millisecond or so on a busy machine; the figures allow for it.
    expect(m.prefillTokensPerS / 20_000).toBeGreaterThan(0.7);
    expect(m.prefillTokensPerS / 20_000).toBeLessThan(1.3);
    const d = m.decode as { baseMs: number; perSeqMs: number };
    expect(d.baseMs + d.perSeqMs).toBeGreaterThan(7.5 * 0.9);
    expect(d.baseMs + d.perSeqMs).toBeLessThan(7.5 * 1.3);
    expect(d.baseMs + 4 * d.perSeqMs).toBeGreaterThan(12 * 0.9);
    expect(d.baseMs + 4 * d.perSeqMs).toBeLessThan(12 * 1.3);
    expect(report.meanAbsRelError.fitted!).toBeLessThan(0.25);
    expect(printed).toMatch(/fit error \(mean \|relative error\|\): fitted workloads \d+\.\d%/);
    // The written file is a model the sim server and capacity planning load.
    const file = JSON.parse(readFileSync(join(out, "sim-perf.json"), "utf8")) as {
      fit: { fittedOn: string[] };
    };
    expect(file.fit.fittedOn).toEqual(["c1", "c4"]);
    expect(loadPerfModel(join(out, "sim-perf.json"))).toEqual(m);
  });

  it("the harness measures under load what the model predicts for the same schedule", async () => {
    // About half the known model's capacity: requests batch, and now and then queue.
    const workload = workloadOf({
      name: "busy",
      qps: 9,
      numRequests: 60,
      promptLen: { kind: "uniform", min: 100, max: 600 },
      genTokens: { kind: "fixed", value: 16 },
      seed: 21,
    });
    const result = await runBenchmark({
      config: { model: "sim", runtimes: ["sim"], targets: { sim: sim.url }, workloads: [workload], seed: 21 },
      runtimes: new RuntimeRegistry([simRuntime({ command: process.execPath, args: [] })]),
      outDir: join(dir, "busy"),
    });
    const measured = result.results[0]!.metrics;
    const arrivals = workloadArrivals(workload);
    const predicted = replayMetrics(arrivals, replay(toPerfModel(known), arrivals));
    // The server never writes early, and the client's round trip and the timers' lateness add a
    // little (5-10 % here, more for TTFT, which queueing amplifies).
    const near = (m: number | undefined, p: number | undefined, over: number) => {
      expect(m).toBeDefined();
      expect(m! / p!).toBeGreaterThan(0.97);
      expect(m! / p!).toBeLessThan(1 + over);
    };
    near(measured.ttftMs?.p50, predicted.ttftMs?.p50, 0.3);
    near(measured.tpotMs?.p50, predicted.tpotMs?.p50, 0.2);
    near(measured.e2eMs?.p50, predicted.e2eMs?.p50, 0.2);
    // The server's own view of the run came from the engine's gauges.
    const server = result.results[0]!.serverMetrics;
    expect(server?.generation).toBe("tokenforge");
    expect(server?.series.running?.max).toBeLessThanOrEqual(4);
  });

  it("asks for the batch size when the run does not record it", () => {
    expect(() => simFit(join(dir, "run"), {}, { write: () => {} })).toThrow(/pass --max-batch/);
    expect(() => simFit(join(dir, "nothing-here"), {}, { write: () => {} })).toThrow(/no requests.jsonl/);
  });
});

describe("capacity planning", () => {
  const model: PerfModel = { ...TRUE, maxBatch: 4 };
  const workload = workloadOf({
    name: "cap",
    qps: 12,
    numRequests: 600,
    promptLen: { kind: "uniform", min: 100, max: 400 },
    genTokens: { kind: "fixed", value: 64 },
    seed: 5,
  });

  it("finds the fewest replicas that hold every target, and the one fewer misses", () => {
    const arrivals = workloadArrivals(workload);
    expect(arrivals).toHaveLength(600);
    const targets = [parseTarget("ttft_p99_ms=500")];
    const r = planCapacity(model, arrivals, targets, { qps: 12 });
    expect(r.replicas).toBeGreaterThan(1);
    const last = r.rows[r.rows.length - 1]!;
    expect(last.replicas).toBe(r.replicas);
    expect(last.misses).toEqual([]);
    expect(last.latency.ttftMs!.p99).toBeLessThanOrEqual(500);
    const before = r.rows[r.rows.length - 2]!;
    expect(before.misses[0]).toMatch(/^ttft_p99_ms \d+\.\d > 500$/);
    // More replicas, less queueing.
    for (let i = 1; i < r.rows.length; i++)
      expect(r.rows[i]!.latency.ttftMs!.p99).toBeLessThan(r.rows[i - 1]!.latency.ttftMs!.p99);
    // The same seed plans the same.
    expect(planCapacity(model, workloadArrivals(workload), targets, { qps: 12 })).toEqual(r);
  });

  it("says so when no replica count up to the limit is enough", () => {
    const r = planCapacity(model, workloadArrivals(workload), [parseTarget("tpot_p50_ms=1")], {
      qps: 12,
      maxReplicas: 3,
    });
    expect(r.replicas).toBeUndefined();
    expect(r.rows).toHaveLength(3);
  });

  it("validates targets and workloads, naming the field", () => {
    expect(parseTarget("e2e_p90_ms<2000")).toEqual({ metric: "e2e", stat: "p90", maxMs: 2000 });
    expect(() => parseTarget("ttft_p98_ms=5")).toThrow(/statistic must be one of/);
    expect(() => parseTarget("speed_p99_ms=5")).toThrow(/metric must be one of/);
    expect(() => parseTarget("ttft_p99_ms=-5")).toThrow(/milliseconds > 0/);
    expect(() => parseTarget("ttft_p99=5")).toThrow(/expected METRIC_STAT_ms=MS/);
    expect(() => workloadArrivals({ ...workload, qps: undefined, concurrency: 4 })).toThrow(
      expect.objectContaining({ field: "qps" }),
    );
    expect(() => workloadArrivals({ ...workload, dataset: { kind: "sharegpt", path: "x.json" } })).toThrow(
      expect.objectContaining({ field: "dataset" }),
    );
    expect(() => planCapacity(model, workloadArrivals(workload), [], { qps: 12 })).toThrow(
      expect.objectContaining({ field: "slo" }),
    );
    expect(() =>
      planCapacity(
        { ...model, kvCacheTokens: 100 },
        workloadArrivals(workload),
        [parseTarget("ttft_p99_ms=1")],
        {
          qps: 12,
        },
      ),
    ).toThrow(expect.objectContaining({ field: "kv_cache_tokens" }));
  });

  it("runs from the command line: the answer and exit 0, or exit 2 naming a bad flag", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokenforge-cap-"));
    try {
      const perf = join(dir, "perf.json");
      writeFileSync(perf, JSON.stringify(toPerfModelFile(model)));
      const ok = await cli([
        "sim",
        "capacity",
        "--perf",
        perf,
        "--qps",
        "12",
        "--slo",
        "ttft_p99_ms=500",
        "--json",
      ]);
      expect(ok.code).toBe(0);
      const parsed = JSON.parse(ok.stdout) as { replicas: number; rows: unknown[] };
      expect(parsed.replicas).toBeGreaterThan(1);
      const bad = await cli(["sim", "capacity", "--perf", perf, "--qps", "12", "--slo", "ttft_p99_ms=abc"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/slo: --slo "ttft_p99_ms=abc"/);
      const badModel = await cli(["sim", "capacity", "--perf", '{"max_batch": 0}', "--qps", "1"]);
      expect(badModel.code).toBe(2);
      expect(badModel.stderr).toMatch(/max_batch: must be an integer ≥ 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
