/**
 * The saturation stop: the slope test on hand-made series, then runs against the simulated
 * engine's performance model, over its capacity (stopped, with the reason recorded) and under it
 * (never stopped), and a sweep that stops climbing at the first saturated rate.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import { fitSlope, SaturationMonitor, type SaturationStop } from "../../src/bench/saturation.js";
import type { RequestTrace, Workload } from "../../src/bench/types.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { PerfModelFile } from "../../src/runtimes/sim/perf-model.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

describe("slope test", () => {
  it("fits a line with its standard error", () => {
    const fit = fitSlope([0, 1, 2, 3, 4], [1, 3, 5, 7, 9])!;
    expect(fit.slope).toBe(2);
    expect(fit.stderr).toBe(0);
    expect(fit.mean).toBe(5);
    // Residuals ±1 alternating around y = x: slope 1 + small, stderr from them.
    const noisy = fitSlope([0, 1, 2, 3], [1, -0, 3, 2])!;
    expect(noisy.slope).toBeCloseTo(0.6, 12);
    expect(fitSlope([1, 1, 1], [1, 2, 3])).toBeUndefined();
    expect(fitSlope([1, 2], [1, 2])).toBeUndefined();
  });

  it("stops on requests in flight growing across the window, and not on a steady level", () => {
    const stops: SaturationStop[] = [];
    const m = new SaturationMonitor({ windowS: 1, minGrowth: 0.5 }, (s) => stops.push(s));
    // 25 samples a second; 20 more in flight every second from 0.
    for (let t = 0; t <= 2000; t += 40) m.inFlight(t, Math.floor((20 * t) / 1000));
    expect(stops).toHaveLength(1);
    expect(stops[0]!.signal).toBe("in-flight");
    expect(stops[0]!.slope).toBeGreaterThan(19);
    expect(stops[0]!.slope).toBeLessThan(21);
    // It fires at the first check with a whole window behind it.
    expect(stops[0]!.atS).toBe(1);

    const steady = new SaturationMonitor({ windowS: 1, minGrowth: 0.5 }, (s) => stops.push(s));
    for (let t = 0; t <= 10_000; t += 40) steady.inFlight(t, 10 + ((t / 40) % 5) - 2);
    expect(stops).toHaveLength(1);
  });

  it("stops on TTFT growing with send time, not on a flat TTFT", () => {
    const trace = (send: number, ttft: number): RequestTrace => ({
      index: 0,
      warmup: false,
      scheduledMs: send,
      sendMs: send,
      chunkMs: [send + ttft],
      endMs: send + ttft + 1,
      outcome: "ok",
      promptTokens: 1,
      maxTokens: 1,
    });
    const stops: SaturationStop[] = [];
    const flat = new SaturationMonitor({ windowS: 1, minGrowth: 0.5 }, (s) => stops.push(s));
    for (let t = 0; t < 5000; t += 25) flat.trace(trace(t, 40 + (t % 3)));
    expect(stops).toHaveLength(0);
    // TTFT = 40 ms + 0.6 ms per ms of sending: a queue growing at 60 % of the send rate.
    const growing = new SaturationMonitor({ windowS: 1, minGrowth: 0.5 }, (s) => stops.push(s));
    for (let t = 0; t < 5000; t += 25) growing.trace(trace(t, 40 + 0.6 * t));
    expect(stops).toHaveLength(1);
    expect(stops[0]!.signal).toBe("ttft");
    expect(stops[0]!.slope).toBeCloseTo(600, 6); // ms of TTFT per second
  });
});

/** One sequence at a time, 80 ms each (40 ms prefill step + 40 ms decode step): 12.5 req/s. */
const PERF: PerfModelFile = {
  prefill_tokens_per_s: 1e9,
  prefill_overhead_ms: 40,
  decode: { base_ms: 40, per_seq_ms: 0 },
  max_batch: 1,
  kv_cache_tokens: 100_000,
};

describe("saturation stop against the sim's performance model", () => {
  let sim: SimChild;
  let dir: string;
  beforeAll(async () => {
    sim = await startSimChild({ perf: PERF, noGroundTruth: true });
    dir = mkdtempSync(join(tmpdir(), "tokenforge-saturation-"));
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (workload: Workload, out: string) =>
    runBenchmark({
      config: { model: "sim", runtimes: ["sim"], targets: { sim: sim.url }, workloads: [workload], seed: 4 },
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, out),
      serverMetrics: false,
    });
  const base = {
    promptLen: { kind: "fixed", value: 8 },
    genTokens: { kind: "fixed", value: 2 },
    arrival: { kind: "constant" },
    saturation: { windowS: 1, minGrowth: 0.5 },
    seed: 4,
  } as const;

  it("stops a run offered 40 req/s, about 27.5 req/s over capacity, and says why", async () => {
    const result = await run(workloadOf({ name: "over", ...base, qps: 40, numRequests: 400 }), "over");
    // A saturation stop ends the run, not the benchmark: the status stays complete.
    expect(result.status).toBe("complete");
    const r = result.results[0]!;
    const stop = r.stopped!;
    expect(stop.reason).toBe("saturation");
    // In flight grows by 40 − 12.5 = 27.5 a second when the client keeps the schedule (less when
    // it lags on a loaded machine): never faster than requests are sent, and at least the rule's
    // 4 requests across the 1 s window.
    if (stop.signal === "in-flight") {
      expect(stop.slope).toBeGreaterThanOrEqual(4);
      expect(stop.slope).toBeLessThan(45);
    }
    expect(stop.atS).toBeLessThan(5);
    // Stopped well before the 10 s schedule ended.
    expect(r.run.notSent).toBeGreaterThan(100);
    expect(r.metrics.warnings.some((w) => w.startsWith("over capacity:"))).toBe(true);
  }, 60_000);

  it("leaves a run under capacity alone", async () => {
    const result = await run(workloadOf({ name: "under", ...base, qps: 5, numRequests: 20 }), "under");
    const r = result.results[0]!;
    expect(r.stopped).toBeUndefined();
    expect(r.metrics.counts.ok).toBe(20);
  }, 60_000);

  it("stops a search from climbing past a saturated rate", async () => {
    const result = await run(
      workloadOf({
        name: "climb",
        ...base,
        numRequests: 120,
        slo: { ttftMs: 1000 },
        // A 2 s window: one second of a machine shared with other work can look like a queue.
        saturation: { windowS: 2, minGrowth: 0.5 },
        sweep: {
          search: { attainment: 0.9, confidence: 0.95, tolerance: 0.5, maxPoints: 3, startQps: 8 },
        },
      }),
      "climb",
    );
    const s = result.sweeps[0]!;
    const points = s.search!.points;
    // 8 req/s is well under capacity (12.5) and passes; doubling to 16 is over it: that run is
    // stopped, so it fails, and the search measures nothing above it (the third rate is between).
    expect(points[0], JSON.stringify(points[0])).toMatchObject({ qps: 8, pass: true });
    expect(points[0]!.stopped).toBeUndefined();
    const over = points.find((p) => p.qps === 16)!;
    expect(over.pass).toBe(false);
    expect(over.stopped).toMatch(/^over capacity/);
    expect(points).toHaveLength(3);
    expect(points.every((p) => p.qps <= 16)).toBe(true);
    expect(s.capacity!.rate).toBeGreaterThanOrEqual(8);
    expect(s.capacity!.rate).toBeLessThan(16);
  }, 120_000);
});
