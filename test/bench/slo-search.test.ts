/**
 * The search for the best rate under the SLOs. In virtual time against the simulated engine (a
 * performance model replayed with no sockets), where the capacity is known by hand; then the same
 * model served over HTTP in real time, through a whole benchmark run; and the statistics it rests
 * on (the Wilson interval, the monotone fit).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { aggregate } from "../../src/bench/aggregate.js";
import { workloadOf } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import { fitPoints, type MeasuredRate, nextStep, searchCapacity } from "../../src/bench/slo-search.js";
import { normalQuantile, wilsonInterval } from "../../src/bench/stats.js";
import type { SloSearchSpec } from "../../src/bench/types.js";
import { replay, replayTraces } from "../../src/capacity/replay.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { PerfModel, PerfModelFile } from "../../src/runtimes/sim/perf-model.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

/**
 * One sequence at a time; a prompt's step takes 40 ms (the overhead; the prompt itself is
 * negligible) and gives the first token, a decode step 40 ms more. With 2 output tokens a request
 * holds the engine for S = 80 ms. At constant arrivals g ms apart with g < S, request i starts at
 * i·S and its TTFT is 40 + i·(S − g). Under a 210 ms TTFT SLO request i meets it iff
 * i·(80 − g) ≤ 170; 18 of 20 requests (a 90 % target) meet it iff request 17 does:
 * g ≥ 70 ms, a rate ≤ 1000/70 = 14.2857 req/s. That is the capacity.
 */
const PERF: PerfModelFile = {
  prefill_tokens_per_s: 1e9,
  prefill_overhead_ms: 40,
  decode: { base_ms: 40, per_seq_ms: 0 },
  max_batch: 1,
  kv_cache_tokens: 100_000,
};
const MODEL: PerfModel = {
  prefillTokensPerS: 1e9,
  prefillOverheadMs: 40,
  decode: { kind: "linear", baseMs: 40, perSeqMs: 0 },
  maxBatch: 1,
  kvCacheTokens: 100_000,
  jitter: 0,
};
const CAPACITY = 1000 / 70;
const N = 20;
const SLO = { ttftMs: 210 };

const spec = (over: Partial<SloSearchSpec> = {}): SloSearchSpec => ({
  attainment: 0.9,
  confidence: 0.95,
  tolerance: 0.02,
  maxPoints: 20,
  ...over,
});

/** The workload at `qps` in virtual time: N constant arrivals, aggregated by the harness's rules. */
async function virtual(qps: number): Promise<MeasuredRate> {
  const arrivals = Array.from({ length: N }, (_, i) => ({
    atMs: (i * 1000) / qps,
    promptTokens: 16,
    outputTokens: 2,
  }));
  const metrics = aggregate(replayTraces(arrivals, replay(MODEL, arrivals)), { slo: SLO });
  return { label: `v/${qps}`, metrics };
}

/** Requests meeting the SLO at `qps`, by the formula above. */
function metByHand(qps: number): number {
  const g = 1000 / qps;
  if (g >= 80) return N;
  return Math.min(N, Math.floor(170 / (80 - g) + 1e-9) + 1);
}

describe("SLO search in virtual time", () => {
  it("measures the attainment the formula gives", async () => {
    for (const qps of [5, 10, 12.5, 13.75, 14.1, 14.375, 16, 20, 40]) {
      const m = await virtual(qps);
      expect(m.metrics.goodput?.met, `${qps} req/s`).toBe(metByHand(qps));
    }
  });

  it("brackets by doubling, narrows the bracket, and converges on the known capacity", async () => {
    const tried: number[] = [];
    const out = await searchCapacity(spec(), 5, async (qps) => {
      tried.push(qps);
      return virtual(qps);
    });
    // By hand: 5 and 10 pass (all 20), 20 fails (6 of 20). While the passing end is at 100 % the
    // bracket is halved: 15 fails (13/20), 12.5 passes (20), 13.75 passes (20), 14.375 fails
    // (17/20), 14.0625 passes (20); [14.0625, 14.375] is 2.2 % wide, so once more: 14.21875 passes
    // (18/20 = 0.9, the target exactly), and [14.21875, 14.375] is within 2 %.
    const expected = [5, 10, 20, 15, 12.5, 13.75, 14.375, 14.0625, 14.21875];
    expect(tried).toHaveLength(expected.length);
    for (const [i, q] of tried.entries()) expect(q).toBeCloseTo(expected[i]!, 3);
    expect(out.end).toBe("converged");
    const c = out.capacity!;
    expect(c.rate).toBeCloseTo(14.21875, 6);
    expect(c.rate).toBeLessThanOrEqual(CAPACITY);
    expect((CAPACITY - c.rate) / CAPACITY).toBeLessThan(0.02);
    expect(c.attainment).toBe(18 / 20);
    expect(c.goodput).toBeGreaterThan(0);
    // 20 of 20 at 95 %: the Wilson lower end is 20/(20 + 1.96²) = 0.839 < 0.9, so no rate confirms
    // the target; 15 req/s (13/20, upper end 0.82) is the lowest that confirms the miss.
    expect(c.ci.low).toBeUndefined();
    expect(c.ci.high).toBe(15);
    expect(out.notes.join("\n")).toContain("at least 35 requests per rate");
    expect(out.points.map((p) => p.qps)).toEqual([...tried].sort((a, b) => a - b));
  });

  it("halves from a failing start, and ends at max_qps when every rate passes", async () => {
    const down: number[] = [];
    const out = await searchCapacity(spec({ tolerance: 0.1 }), 80, async (q) => {
      down.push(q);
      return virtual(q);
    });
    expect(down.slice(0, 4)).toEqual([80, 40, 20, 10]);
    expect(out.capacity!.rate).toBeLessThanOrEqual(CAPACITY);
    expect(out.capacity!.rate).toBeGreaterThan(CAPACITY * 0.9);

    const capped = await searchCapacity(spec({ maxQps: 8 }), 3, virtual);
    expect(capped.points.map((p) => p.qps)).toEqual([3, 6, 8]);
    expect(capped.end).toBe("max-qps");
    expect(capped.capacity!.rate).toBe(8);
  });

  it("stops at max_points, and reports no capacity when nothing passes", async () => {
    const few = await searchCapacity(spec({ maxPoints: 3 }), 5, virtual);
    expect(few.points).toHaveLength(3);
    expect(few.end).toBe("max-points");
    expect(few.capacity!.rate).toBe(10);

    const none = await searchCapacity(spec({ maxPoints: 3, attainment: 0.99 }), 5, async (q) => {
      const m = await virtual(q);
      return { ...m, metrics: { ...m.metrics, goodput: { slo: SLO, met: 0, fraction: 0 } } };
    });
    expect(none.end).toBe("no-passing-rate");
    expect(none.capacity).toBeUndefined();
    expect(none.points.map((p) => p.qps)).toEqual([1.25, 2.5, 5]);
  });
});

describe("search statistics", () => {
  it("computes normal quantiles and Wilson intervals", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 6);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.644854, 5);
    const [lo, hi] = wilsonInterval(100, 100, 0.95);
    expect(lo).toBeCloseTo(100 / (100 + 1.959964 ** 2), 5);
    expect(hi).toBe(1);
    // 50 of 100: centre 0.5, half-width z·√(0.0025 + z²/40000)/(1 + z²/100) = 0.0962.
    const [a, b] = wilsonInterval(50, 100, 0.95);
    expect(a).toBeCloseTo(0.5 - 0.0962, 3);
    expect(b).toBeCloseTo(0.5 + 0.0962, 3);
  });

  it("pools rates whose attainments rise with the rate, weighted by their requests", () => {
    const at = (qps: number, met: number, total: number): { qps: number; m: MeasuredRate } => ({
      qps,
      m: { label: String(qps), metrics: { counts: { total }, goodput: { met } } as never },
    });
    // 12 req/s measured 0.8 but 14 req/s 0.95: pooled (8 + 19)/(10 + 20) = 0.9 for both.
    const points = fitPoints([at(14, 19, 20), at(10, 20, 20), at(12, 8, 10), at(16, 2, 20)], {
      attainment: 0.9,
      confidence: 0.95,
    });
    expect(points.map((p) => p.qps)).toEqual([10, 12, 14, 16]);
    expect(points.map((p) => p.fitted)).toEqual([1, 0.9, 0.9, 0.1]);
    expect(points.map((p) => p.pass)).toEqual([true, true, true, false]);
    // The bracket is [14, 16]: the crossing of 0.9 is at 0 of the way, kept to a quarter.
    expect(nextStep(points, spec(), 1)).toEqual({ qps: 14.5 });
  });

  it("fails a point stopped as over capacity, and every rate above it", () => {
    const at = (qps: number, stopped?: string): { qps: number; m: MeasuredRate } => ({
      qps,
      m: {
        label: String(qps),
        metrics: { counts: { total: 10 }, goodput: { met: 10 } } as never,
        ...(stopped ? { stopped } : {}),
      },
    });
    const points = fitPoints([at(1), at(2, "saturated"), at(4)], { attainment: 0.9, confidence: 0.95 });
    expect(points.map((p) => p.pass)).toEqual([true, false, false]);
  });
});

describe("SLO search against the sim server", () => {
  let sim: SimChild | undefined;
  const dir = mkdtempSync(join(tmpdir(), "tokenforge-search-"));
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds the model's capacity over HTTP in real time", async () => {
    sim = await startSimChild({ perf: PERF, noGroundTruth: true });
    const workload = workloadOf({
      name: "cap",
      numRequests: N,
      promptLen: { kind: "fixed", value: 16 },
      genTokens: { kind: "fixed", value: 2 },
      arrival: { kind: "constant" },
      slo: SLO,
      sweep: { search: { ...spec({ tolerance: 0.04, maxPoints: 10 }), startQps: 5 } },
      seed: 1,
    });
    const result = await runBenchmark({
      config: { model: "sim", runtimes: ["sim"], targets: { sim: sim.url }, workloads: [workload], seed: 1 },
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, "run"),
      serverMetrics: false,
    });
    const s = result.sweeps[0]!;
    expect(s.mode).toBe("search");
    expect(s.search!.end).toBe("converged");
    expect(s.points.every((p) => p.kind === "rate")).toBe(true);
    expect(result.results.map((r) => r.workload)).toEqual(s.points.map((p) => p.label));
    const c = s.capacity!;
    // Timers only ever run late, which lengthens S and lowers the capacity a little; never raises it.
    expect(c.rate).toBeLessThanOrEqual(CAPACITY * 1.01);
    expect(c.rate).toBeGreaterThan(CAPACITY * 0.85);
    expect(s.maxRateMeetingSlo).toBe(c.rate);
    expect(result.results.find((r) => r.workload === c.label)!.metrics.offeredQps).toBeCloseTo(c.rate, 6);
  }, 120_000);
});
