/**
 * How close the SLO search lands to a capacity known by hand, and what it costs, in real time
 * against the simulated server and in virtual time against the same performance model.
 *
 * The model serves one sequence at a time: a 40 ms prefill step then a 40 ms decode step, so a
 * request of 2 output tokens holds the engine S = 80 ms. With constant arrivals g ms apart
 * (g < S), request i's TTFT is 40 + i·(S − g). Under a 530 ms TTFT SLO, 99 of 100 requests meet
 * it iff request 98 does: 98·(80 − g) ≤ 490, g ≥ 75 ms, a rate ≤ 13.33 req/s.
 *
 *   npm run build && npx tsx bench/slo-search.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { aggregate } from "../src/bench/aggregate.js";
import { workloadOf } from "../src/bench/config.js";
import { runBenchmark } from "../src/bench/run.js";
import { searchCapacity } from "../src/bench/slo-search.js";
import type { SloSearchSpec } from "../src/bench/types.js";
import { replay, replayTraces } from "../src/capacity/replay.js";
import { RuntimeRegistry } from "../src/runtimes/registry.js";
import { writeResult } from "./lib/result.js";
import { startSimProcess } from "./lib/sim-process.js";

const N = 100;
const SLO = { ttftMs: 530 };
const CAPACITY = 1000 / 75;
const spec: SloSearchSpec = {
  attainment: 0.99,
  confidence: 0.95,
  tolerance: 0.02,
  maxPoints: 12,
  startQps: 4,
};
const perf = {
  prefill_tokens_per_s: 1e9,
  prefill_overhead_ms: 40,
  decode: { base_ms: 40, per_seq_ms: 0 },
  max_batch: 1,
  kv_cache_tokens: 100_000,
};

// Virtual time: the same search over the model replayed with no sockets.
const t0 = performance.now();
const virtual = await searchCapacity({ ...spec, startQps: 4 }, 4, async (qps) => {
  const arrivals = Array.from({ length: N }, (_, i) => ({
    atMs: (i * 1000) / qps,
    promptTokens: 16,
    outputTokens: 2,
  }));
  const model = {
    prefillTokensPerS: 1e9,
    prefillOverheadMs: 40,
    decode: { kind: "linear" as const, baseMs: 40, perSeqMs: 0 },
    maxBatch: 1,
    kvCacheTokens: 100_000,
    jitter: 0,
  };
  return {
    label: String(qps),
    metrics: aggregate(replayTraces(arrivals, replay(model, arrivals)), { slo: SLO }),
  };
});
const virtualMs = performance.now() - t0;

// Real time: a whole benchmark run against the sim server.
const sim = await startSimProcess(["--port", "0", "--no-ground-truth", "--perf", JSON.stringify(perf)]);
const dir = mkdtempSync(join(tmpdir(), "tokenforge-bench-search-"));
const t1 = performance.now();
const result = await runBenchmark({
  config: {
    model: "sim",
    runtimes: ["sim"],
    targets: { sim: sim.url },
    seed: 1,
    workloads: [
      workloadOf({
        name: "cap",
        numRequests: N,
        promptLen: { kind: "fixed", value: 16 },
        genTokens: { kind: "fixed", value: 2 },
        arrival: { kind: "constant" },
        slo: SLO,
        sweep: { search: spec },
        seed: 1,
      }),
    ],
  },
  runtimes: new RuntimeRegistry([]),
  outDir: join(dir, "run"),
  serverMetrics: false,
});
const realS = (performance.now() - t1) / 1000;
await sim.stop();
rmSync(dir, { recursive: true, force: true });

const s = result.sweeps[0]!;
const figures = {
  knownCapacity: CAPACITY,
  virtual: {
    rate: virtual.capacity?.rate,
    errorVsKnown: virtual.capacity ? virtual.capacity.rate / CAPACITY - 1 : undefined,
    points: virtual.points.map((p) => [Number(p.qps.toFixed(3)), p.attainment]),
    end: virtual.end,
    wallMs: virtualMs,
  },
  real: {
    rate: s.capacity?.rate,
    errorVsKnown: s.capacity ? s.capacity.rate / CAPACITY - 1 : undefined,
    ci: s.capacity?.ci,
    goodput: s.capacity?.goodput,
    points: s.search?.points.map((p) => [Number(p.qps.toFixed(3)), p.attainment]),
    end: s.search?.end,
    wallS: realS,
  },
};
console.log(JSON.stringify(figures, null, 2));
writeResult("slo-search", figures);
