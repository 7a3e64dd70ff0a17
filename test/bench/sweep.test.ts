/**
 * The sweep profile against a simulated server: a synchronous baseline, then everything at once,
 * then rates strictly between the two measured request rates, and the highest rate that met the
 * SLOs. Plus the pure helpers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import { summarizeSweep, sweepRates } from "../../src/bench/sweep.js";
import type { Workload } from "../../src/bench/types.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

let sim: SimChild;
let dir: string;
beforeAll(async () => {
  // A server whose latency grows with load is not needed: a fixed 5 ms TTFT and 2 ms per token
  // give the synchronous stage a known ceiling of about 1 / 21 ms.
  sim = await startSimChild({ ttftMs: 5, itlMs: 2, noGroundTruth: true });
  dir = mkdtempSync(join(tmpdir(), "tokenforge-sweep-"));
});
afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const base = (slo: Workload["slo"]): Workload =>
  workloadOf({
    name: "sw",
    numRequests: 20,
    promptLen: { kind: "fixed", value: 16 },
    genTokens: { kind: "fixed", value: 8 },
    slo,
    sweep: { points: 3 },
    seed: 3,
  });

async function sweep(slo: Workload["slo"], out: string) {
  return runBenchmark({
    config: { model: "sim", runtimes: ["sim"], targets: { sim: sim.url }, workloads: [base(slo)], seed: 3 },
    runtimes: new RuntimeRegistry([]),
    outDir: join(dir, out),
  });
}

describe("sweep", () => {
  it("runs synchronous, throughput, then the rates between, and finds the highest rate within the SLOs", async () => {
    const result = await sweep({ e2eMs: 10_000 }, "loose");
    expect(result.results.map((r) => r.sweep?.kind)).toEqual([
      "synchronous",
      "throughput",
      "rate",
      "rate",
      "rate",
    ]);
    expect(result.results.every((r) => r.metrics.counts.ok === 20)).toBe(true);
    const sync = result.results[0]!.metrics;
    const max = result.results[1]!.metrics;
    // One at a time: never two in flight. All at once: many.
    expect(sync.peakConcurrency).toBe(1);
    expect(max.peakConcurrency!).toBeGreaterThan(1);
    expect(max.requestThroughput!).toBeGreaterThan(sync.requestThroughput!);
    const s = result.sweeps[0]!;
    expect(s.points).toHaveLength(5);
    const rates = s.points.filter((p) => p.kind === "rate").map((p) => p.offeredQps!);
    expect(rates).toEqual(sweepRates(sync.requestThroughput!, max.requestThroughput!, 3));
    for (const r of rates) {
      expect(r).toBeGreaterThan(sync.requestThroughput!);
      expect(r).toBeLessThan(max.requestThroughput!);
    }
    // Every request met a 10 s E2E SLO, so the best rate is the highest point measured.
    expect(s.maxRateMeetingSlo).toBe(Math.max(max.requestThroughput!, ...rates));
  });

  it("reports no rate when no stage met the SLOs", async () => {
    const result = await sweep({ ttftMs: 0.001 }, "impossible");
    expect(result.sweeps[0]!.maxRateMeetingSlo).toBeUndefined();
    expect(result.results.every((r) => r.metrics.goodput?.met === 0)).toBe(true);
  });
});

describe("sweep helpers", () => {
  it("spaces rates evenly strictly between the two measured rates, in either order", () => {
    expect(sweepRates(2, 10, 3)).toEqual([4, 6, 8]);
    expect(sweepRates(10, 2, 1)).toEqual([6]);
  });

  it("takes the highest offered rate whose attainment reached 99 %, and none without an SLO", () => {
    const point = (
      kind: "rate" | "throughput",
      offeredQps: number | undefined,
      fraction: number,
      tput: number,
    ) => ({
      label: "x",
      kind,
      ...(offeredQps === undefined ? {} : { offeredQps }),
      metrics: { goodput: { fraction }, requestThroughput: tput } as never,
    });
    const points = [
      point("throughput", undefined, 0.5, 30),
      point("rate", 10, 1, 10),
      point("rate", 20, 0.995, 19),
      point("rate", 25, 0.98, 24),
    ];
    expect(summarizeSweep(base({ ttftMs: 100 }), "r", points).maxRateMeetingSlo).toBe(20);
    expect(summarizeSweep(base({}), "r", points).maxRateMeetingSlo).toBeUndefined();
  });
});
