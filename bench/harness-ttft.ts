/**
 * How exact are the harness's TTFT and ITL? The simulated server (its own process) records when
 * each request's body was read and when each chunk was written; the harness's TTFT and gaps are
 * compared with those intervals per request. Default: 200 req/s Poisson, TTFT 50 ms, ITL 10 ms,
 * 16 tokens per reply, 10 s.
 *
 *   npm run build && npx tsx bench/harness-ttft.ts [--qps 200] [--seconds 10]
 */
import { parseArgs } from "node:util";
import { request } from "undici";
import { workloadOf } from "../src/bench/config.js";
import { buildPlan } from "../src/bench/plan.js";
import { calibrateWithCounter, serverCounter } from "../src/bench/prompts.js";
import { runPlan } from "../src/bench/runner.js";
import { summarize } from "../src/bench/stats.js";
import type { RequestTrace } from "../src/bench/types.js";
import type { GroundTruth } from "../src/runtimes/sim/ground-truth.js";
import { writeResult } from "./lib/result.js";
import { startSimProcess } from "./lib/sim-process.js";

const { values } = parseArgs({
  options: {
    qps: { type: "string", default: "200" },
    seconds: { type: "string", default: "10" },
    "ttft-ms": { type: "string", default: "50" },
    "itl-ms": { type: "string", default: "10" },
    tokens: { type: "string", default: "16" },
  },
});
const qps = Number(values.qps);
const sim = await startSimProcess(["--ttft-ms", values["ttft-ms"], "--itl-ms", values["itl-ms"]]);
const target = { baseUrl: sim.url, model: "sim", endpoint: "completions" as const, stream: true };
const counter = await serverCounter(target);
if (!counter) throw new Error("the sim server has no /tokenize");
const calibration = await calibrateWithCounter(counter, "server-tokenize");
const workload = workloadOf({
  name: "ttft",
  qps,
  durationS: Number(values.seconds),
  warmup: { seconds: 2 },
  promptLen: { kind: "fixed", value: 64 },
  genTokens: { kind: "fixed", value: Number(values.tokens) },
  seed: 11,
});
const plan = buildPlan(workload, "sim", calibration);
const traces = new Map<string, RequestTrace>();
await request(`${sim.url}/sim/ground-truth`, { method: "DELETE" }).then((r) => r.body.dump());
const run = await runPlan({
  target,
  plan,
  requestIdPrefix: "acc",
  onTrace: (t) => {
    if (!t.warmup) traces.set(`acc-${t.index}`, t);
  },
});
const gt = (await (await request(`${sim.url}/sim/ground-truth`)).body.json()) as GroundTruth[];
await sim.stop();

const ttftErr: number[] = [];
const itlErr: number[] = [];
let matched = 0;
for (const g of gt) {
  const t = traces.get(g.id);
  if (t?.outcome !== "ok" || g.firstTokenMs === undefined || t.chunkMs.length !== g.tokenMs.length) continue;
  matched++;
  ttftErr.push(t.chunkMs[0]! - t.sendMs - (g.firstTokenMs - g.receivedMs));
  for (let k = 1; k < g.tokenMs.length; k++) {
    itlErr.push(t.chunkMs[k]! - t.chunkMs[k - 1]! - (g.tokenMs[k]! - g.tokenMs[k - 1]!));
  }
}
const abs = (a: number[]) => Float64Array.from(a, Math.abs);
const figures = {
  qps,
  offered: run.offeredRate,
  requests: traces.size,
  matched,
  ttftErrorMs: { signed: summarize(Float64Array.from(ttftErr)), absolute: summarize(abs(ttftErr)) },
  itlErrorMs: { signed: summarize(Float64Array.from(itlErr)), absolute: summarize(abs(itlErr)) },
};
const f = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(3));
console.log(`matched ${matched}/${traces.size} requests with the server's ground truth`);
console.log(
  `TTFT error: mean ${f(figures.ttftErrorMs.signed?.mean)} ms (|err| mean ${f(figures.ttftErrorMs.absolute?.mean)}, p99 ${f(figures.ttftErrorMs.absolute?.p99)}, max ${f(figures.ttftErrorMs.absolute?.max)})`,
);
console.log(
  `ITL error:  mean ${f(figures.itlErrorMs.signed?.mean)} ms (|err| mean ${f(figures.itlErrorMs.absolute?.mean)}, p99 ${f(figures.itlErrorMs.absolute?.p99)}, max ${f(figures.itlErrorMs.absolute?.max)})`,
);
writeResult("harness-ttft", figures);
