/**
 * Fits the simulated engine's performance model to llama.cpp on this machine and reports the
 * fit's error, then times capacity planning with the fitted model.
 *
 * 1. `tokenforge bench configs/sim-fit.yaml --parallel 8` (llama-100m Q8_0: closed loops at
 *    concurrency 1, 2, 4, 8 and a Poisson workload), unless `--run DIR` reuses a run.
 * 2. `tokenforge sim fit` on c1..c8, with the Poisson workload held out.
 * 3. `sim capacity` on the fitted model: 10,000 requests at 2 req/s, replicas until p99 TTFT
 *    < 2 s, timed (simulated requests per second of wall time).
 *
 *   npm run bench:sim-fit [-- --run results/sim-fit]
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { workloadOf } from "../src/bench/config.js";
import { parseTarget, planCapacity, workloadArrivals } from "../src/capacity/capacity.js";
import { simFit } from "../src/cli/sim.js";
import { describePerfModel } from "../src/runtimes/sim/perf-model.js";
import { writeResult } from "./lib/result.js";

const ROOT = join(import.meta.dirname, "..");
const { values } = parseArgs({ options: { run: { type: "string" } } });

let runDir = values.run;
if (runDir === undefined) {
  runDir = join(ROOT, "results", `sim-fit-${new Date().toISOString().replaceAll(":", "-")}`);
  const cli = join(ROOT, "dist", "cli", "tokenforge.js");
  const args = [cli, "bench", join(ROOT, "configs", "sim-fit.yaml"), "--parallel", "8", "--out", runDir];
  console.log(`running: node ${args.join(" ")}`);
  const res = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (res.status !== 0) throw new Error(`the benchmark failed (exit ${res.status})`);
}

const report = simFit(runDir, { workloads: "c1,c2,c4,c8" }, process.stdout);

const workload = workloadOf({
  name: "capacity",
  qps: 2,
  numRequests: 10_000,
  promptLen: { kind: "uniform", min: 32, max: 768 },
  genTokens: { kind: "fixed", value: 32 },
  seed: 1,
});
const arrivals = workloadArrivals(workload);
const t0 = performance.now();
const plan = planCapacity(report.model, arrivals, [parseTarget("ttft_p99_ms=2000")], { qps: 2, seed: 1 });
const wallMs = performance.now() - t0;
const simulated = arrivals.length * plan.rows.length;
console.log(
  `\ncapacity: ${plan.replicas ?? "none"} replicas for p99 TTFT < 2 s at 2 req/s; ${plan.rows.length} replica counts × ${arrivals.length} requests replayed in ${wallMs.toFixed(0)} ms (${Math.round((simulated * 1000) / wallMs)} simulated requests/s)`,
);

writeResult("sim-fit", {
  run: runDir,
  model: describePerfModel(report.model),
  decodeByBatch: report.decode.byBatch,
  prefillDirect: report.prefill.direct,
  errors: report.errors.map((e) => ({
    workload: e.workload,
    heldOut: e.heldOut,
    meanAbsRelError: e.meanAbsRelError,
    figures: e.figures,
  })),
  meanAbsRelError: report.meanAbsRelError,
  capacity: {
    replicas: plan.replicas,
    replicaCountsTried: plan.rows.length,
    requests: arrivals.length,
    wallMs,
    simulatedRequestsPerS: (simulated * 1000) / wallMs,
  },
});
