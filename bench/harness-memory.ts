/**
 * Does the harness's memory stay flat with run length? A full `runBenchmark` (traces streamed to
 * requests.jsonl, aggregation read back from it, the vLLM view) against the simulated server with
 * 100,000 requests; resident memory is sampled against requests done, and once more after the
 * result is written (aggregation holds every ITL gap of the run at once).
 *
 *   npm run build && npx tsx bench/harness-memory.ts [--requests 100000] [--qps 1000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { configFromObject } from "../src/bench/config.js";
import { runBenchmark } from "../src/bench/run.js";
import { RuntimeRegistry } from "../src/runtimes/registry.js";
import { writeResult } from "./lib/result.js";
import { startSimProcess } from "./lib/sim-process.js";

const { values } = parseArgs({
  options: { requests: { type: "string", default: "100000" }, qps: { type: "string", default: "1000" } },
});
const requests = Number(values.requests);
const qps = Number(values.qps);
const sim = await startSimProcess(["--output-tokens", "64", "--no-ground-truth"]);
const config = configFromObject({
  model: "sim",
  runtimes: ["sim"],
  targets: { sim: sim.url },
  workloads: [{ name: "memory", qps, num_requests: requests, prompt_len: 32, gen_tokens: 64, warmup: 100 }],
});
const outDir = mkdtempSync(join(tmpdir(), "tokenforge-memory-"));
const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
const curve: { done: number; rssMB: number; heapMB: number }[] = [];
let done = 0;
const sample = () => {
  const m = process.memoryUsage();
  curve.push({ done, rssMB: mb(m.rss), heapMB: mb(m.heapUsed) });
};
sample();
const timer = setInterval(sample, 2000);
const result = await runBenchmark({
  config,
  runtimes: new RuntimeRegistry([]),
  outDir,
  onEvent: (e) => {
    if (e.kind === "progress" && e.progress.phase === "measure") done = e.progress.done;
  },
});
clearInterval(timer);
sample();
await sim.stop();
rmSync(outDir, { recursive: true, force: true });
const during = curve.slice(1, -1);
const peakDuring = Math.max(...during.map((c) => c.rssMB));
const m = result.results[0]!.metrics;
for (const c of curve.filter((_, i) => i % 5 === 0 || i === curve.length - 1)) {
  console.log(`${String(c.done).padStart(7)} requests done  RSS ${c.rssMB} MB  heap ${c.heapMB} MB`);
}
console.log(
  `peak RSS while running: ${peakDuring} MB; after aggregation: ${curve[curve.length - 1]!.rssMB} MB`,
);
console.log(`ok ${m.counts.ok}/${m.counts.total}, client lag p99 ${m.clientLagMs?.p99.toFixed(3)} ms`);
writeResult("harness-memory", {
  requests,
  qps,
  curve,
  peakDuringMB: peakDuring,
  ok: m.counts.ok,
  lagP99Ms: m.clientLagMs?.p99,
});
