/**
 * Ramps: the schedule of a rate ramp by hand (time rescaling of the workload's arrival process),
 * its step windows, the levels of a concurrency ramp, and both run against the simulated server
 * with their per-step results.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { loopMode } from "../../src/bench/plan.js";
import {
  concurrencyLevels,
  rampCumulative,
  rampInverse,
  rampSchedule,
  rampWindows,
} from "../../src/bench/ramp.js";
import { createRandom } from "../../src/bench/random.js";
import { runBenchmark } from "../../src/bench/run.js";
import type { Ramp, Workload } from "../../src/bench/types.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

const linear: Ramp = { of: "qps", from: 2, to: 6, durationS: 4, shape: "linear", steps: 2 };
const expo: Ramp = { of: "qps", from: 1, to: 8, durationS: 3, shape: "exponential", steps: 3 };

describe("rate ramp schedule", () => {
  it("sends request i of a constant arrival when Λ(t) = i, linear", () => {
    // λ(t) = 2 + t, Λ(t) = 2t + t²/2; Λ(4) = 16, so requests 0..15 (the 16th would be at 4 s).
    const at = rampSchedule(linear, { kind: "constant" }, createRandom(1, "arrival"));
    expect(at).toHaveLength(16);
    for (let i = 0; i < 16; i++) {
      // t = −2 + √(4 + 2i)
      expect(at[i]).toBeCloseTo((-2 + Math.sqrt(4 + 2 * i)) * 1000, 6);
    }
    expect(rampCumulative(linear, 4)).toBe(16);
    expect(rampInverse(linear, 6)).toBeCloseTo(2, 12);
  });

  it("sends request i when Λ(t) = i, exponential", () => {
    // λ(t) = 2^t, Λ(t) = (2^t − 1)/ln 2; Λ(3) = 7/ln 2 = 10.1: requests 0..10, t = log2(1 + i·ln 2).
    const at = rampSchedule(expo, { kind: "constant" }, createRandom(1, "arrival"));
    expect(at).toHaveLength(11);
    for (let i = 0; i < 11; i++) expect(at[i]).toBeCloseTo(Math.log2(1 + i * Math.LN2) * 1000, 6);
  });

  it("gives the windows' mean rates, and a decreasing ramp mirrors an increasing one", () => {
    expect(rampWindows(linear)).toEqual([
      { startS: 0, endS: 2, offeredQps: 3 },
      { startS: 2, endS: 4, offeredQps: 5 },
    ]);
    // Exponential 1 → 8 over 3 s in 1 s windows: (2^(k+1) − 2^k)/ln 2.
    const w = rampWindows(expo).map((x) => x.offeredQps);
    for (const [k, v] of [1, 2, 4].entries()) expect(w[k]).toBeCloseTo(v / Math.LN2, 9);
    const down: Ramp = { ...linear, from: 6, to: 2 };
    expect(rampCumulative(down, 4)).toBe(16);
    expect(rampInverse(down, 10)).toBeCloseTo(2, 12); // Λ(2) = 12 − 2 = 10
  });

  it("is a pure function of the seed for Poisson arrivals, and thins out the slow start", () => {
    const w = (seed: number): Workload =>
      workloadOf({
        name: "r",
        promptLen: { kind: "fixed", value: 8 },
        genTokens: { kind: "fixed", value: 4 },
        ramp: { of: "qps", from: 5, to: 50, durationS: 20, shape: "linear", steps: 4 },
        seed,
      });
    const a = loopMode(w(3));
    const b = loopMode(w(3));
    const c = loopMode(w(4));
    if (a.kind !== "open" || b.kind !== "open" || c.kind !== "open") throw new Error("open loop expected");
    expect(a.atMs).toEqual(b.atMs);
    expect(a.atMs).not.toEqual(c.atMs);
    // Λ(20) = 550 expected; 4 sigma of a Poisson count is about 94.
    expect(Math.abs(a.atMs.length - 550)).toBeLessThan(94);
    const firstQuarter = a.atMs.filter((t) => t < 5000).length; // Λ(5) = 25 + 28.125 = 53.1
    const lastQuarter = a.atMs.filter((t) => t >= 15000).length; // 550 − Λ(15) = 550 − 328.1
    expect(firstQuarter).toBeLessThan(lastQuarter / 2);
    for (let i = 1; i < a.atMs.length; i++) expect(a.atMs[i]).toBeGreaterThanOrEqual(a.atMs[i - 1]!);
  });
});

describe("concurrency ramp levels", () => {
  it("rounds linear and exponential levels", () => {
    const r = (shape: Ramp["shape"], steps: number): Ramp => ({
      of: "concurrency",
      from: 1,
      to: 8,
      durationS: 4,
      shape,
      steps,
    });
    expect(concurrencyLevels(r("linear", 4))).toEqual([1, 3, 6, 8]);
    expect(concurrencyLevels(r("exponential", 4))).toEqual([1, 2, 4, 8]);
    expect(concurrencyLevels(r("linear", 1))).toEqual([8]);
  });
});

describe("ramps against the sim server", () => {
  let sim: SimChild;
  let dir: string;
  beforeAll(async () => {
    sim = await startSimChild({ ttftMs: 5, itlMs: 2, noGroundTruth: true });
    dir = mkdtempSync(join(tmpdir(), "tokenforge-ramp-"));
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (workload: Workload, out: string) =>
    runBenchmark({
      config: { model: "sim", runtimes: ["sim"], targets: { sim: sim.url }, workloads: [workload], seed: 2 },
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, out),
      serverMetrics: false,
    });
  const shape = { promptLen: { kind: "fixed", value: 8 }, genTokens: { kind: "fixed", value: 4 } } as const;

  it("runs a rate ramp as one schedule and reports each step", async () => {
    const result = await run(
      workloadOf({ name: "up", ...shape, ramp: linear, arrival: { kind: "constant" }, seed: 2 }),
      "rate",
    );
    expect(result.status).toBe("complete");
    const r = result.results[0]!;
    expect(r.metrics.counts.total).toBe(16);
    const steps = r.steps!;
    expect(steps.map((s) => [s.step, s.startS, s.endS, s.offeredQps])).toEqual([
      [1, 0, 2, 3],
      [2, 2, 4, 5],
    ]);
    // Λ(2) = 6: requests 0..5 are scheduled in the first window, 6..15 in the second.
    expect(steps.map((s) => s.metrics.counts.total)).toEqual([6, 10]);
    expect(steps.every((s) => s.metrics.counts.ok === s.metrics.counts.total)).toBe(true);
    expect(steps[0]!.metrics.offeredQps).toBe(3);
  }, 60_000);

  it("runs a concurrency ramp as one closed loop per level", async () => {
    const result = await run(
      workloadOf({
        name: "cc",
        ...shape,
        ramp: { of: "concurrency", from: 1, to: 4, durationS: 1, shape: "linear", steps: 2 },
        seed: 2,
      }),
      "concurrency",
    );
    expect(result.status).toBe("complete");
    expect(result.results.map((r) => [r.workload, r.ramp])).toEqual([
      ["cc/step1-c1", { of: "cc", step: 1, concurrency: 1 }],
      ["cc/step2-c4", { of: "cc", step: 2, concurrency: 4 }],
    ]);
    expect(result.results[0]!.metrics.peakConcurrency).toBe(1);
    expect(result.results[1]!.metrics.peakConcurrency).toBeLessThanOrEqual(4);
    for (const r of result.results) {
      expect(r.metrics.counts.ok).toBeGreaterThan(0);
      // Each level runs for half a second of sending.
      expect(r.metrics.durationS!).toBeLessThan(2);
    }
  }, 60_000);
});
