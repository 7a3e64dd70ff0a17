/**
 * How fast can the harness drive a server? The simulated server runs as its own process on this
 * machine with zero delay and 64 streamed tokens per reply; the harness offers Poisson load at
 * each rate for a fixed time. Per rate: achieved/offered send rate, client lag p50/p99 and the
 * harness's CPU time per request (process.cpuUsage: main thread, pacer thread and undici).
 * The same schedule is then run by a straightforward client (bench/lib/naive-client.ts) for
 * comparison, in the same run.
 *
 *   npm run build && npx tsx bench/harness-rate.ts [--rates 250,500,1000,1500] [--seconds 10] [--no-naive] [--write-each]
 */
import { parseArgs } from "node:util";
import { workloadOf } from "../src/bench/config.js";
import { buildPlan } from "../src/bench/plan.js";
import { calibrateWithCounter, serverCounter } from "../src/bench/prompts.js";
import { runPlan } from "../src/bench/runner.js";
import { percentile } from "../src/bench/stats.js";
import { runNaive } from "./lib/naive-client.js";
import { writeResult } from "./lib/result.js";
import { startSimProcess } from "./lib/sim-process.js";
import { threadCpuDelta, threadCpuMs } from "./lib/thread-cpu.js";

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "250,500,1000,1500,2000" },
    seconds: { type: "string", default: "10" },
    "no-naive": { type: "boolean", default: false },
    "write-each": { type: "boolean", default: false },
  },
});
const rates = values.rates.split(",").map(Number);
const seconds = Number(values.seconds);

// --write-each: the sim writes each token's event in its own event-loop turn, as a server that
// generates tokens one at a time, instead of one write per reply.
const sim = await startSimProcess([
  "--output-tokens",
  "64",
  "--no-ground-truth",
  ...(values["write-each"] ? ["--write-each"] : []),
]);
const target = { baseUrl: sim.url, model: "sim", endpoint: "completions" as const, stream: true };
const counter = await serverCounter(target);
if (!counter) throw new Error("the sim server has no /tokenize");
const calibration = await calibrateWithCounter(counter, "server-tokenize");

interface Row {
  client: string;
  offered: number;
  achievedRatio: number;
  lagP50Ms: number;
  lagP99Ms: number;
  cpuMsPerRequest: number;
  /** Per thread kind (main, pacer, libuv pool, V8 workers), from /proc; coarse (10 ms ticks). */
  threadCpuMsPerRequest?: Record<string, number>;
  ok: number;
  requests: number;
}
const rows: Row[] = [];
const sorted = (a: Float64Array) => a.slice().sort();

for (const qps of rates) {
  const workload = workloadOf({
    name: `rate-${qps}`,
    qps,
    durationS: seconds,
    warmup: { requests: 200 },
    promptLen: { kind: "fixed", value: 32 },
    genTokens: { kind: "fixed", value: 64 },
    seed: 7,
  });
  const plan = buildPlan(workload, "sim", calibration);
  if (plan.mode.kind !== "open") throw new Error("expected an open loop");
  const at = plan.mode.atMs;
  const offered = (at.length - 1) / ((at[at.length - 1]! - at[0]!) / 1000);

  const lags = new Float64Array(at.length);
  const sends = new Float64Array(at.length);
  let ok = 0;
  let n = 0;
  // CPU is counted for the measured phase only: from the first measured send to the last end.
  let cpuStart: NodeJS.CpuUsage | undefined;
  let threadsStart: Map<string, number> | undefined;
  const run = await runPlan({
    target,
    plan,
    onTrace: (t) => {
      if (t.warmup) return;
      cpuStart ??= process.cpuUsage();
      threadsStart ??= threadCpuMs();
      lags[t.index] = t.sendMs - t.scheduledMs;
      sends[t.index] = t.sendMs;
      n++;
      if (t.outcome === "ok") ok++;
    },
  });
  const cpu = process.cpuUsage(cpuStart);
  const byThread = threadsStart ? threadCpuDelta(threadsStart, threadCpuMs()) : {};
  const s = sends.slice().sort();
  const achieved = (n - 1) / ((s[n - 1]! - s[0]!) / 1000);
  const lag = sorted(lags);
  rows.push({
    client: "tokenforge",
    offered,
    achievedRatio: achieved / offered,
    lagP50Ms: percentile(lag, 50) ?? Number.NaN,
    lagP99Ms: percentile(lag, 99) ?? Number.NaN,
    cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / n,
    ok,
    requests: n,
    threadCpuMsPerRequest: Object.fromEntries(
      Object.entries(byThread)
        .filter(([, ms]) => ms > 0)
        .map(([k, ms]) => [k, Number((ms / n).toFixed(4))]),
    ),
  });
  void run;

  if (!values["no-naive"]) {
    const body = plan.body(0, false);
    const c0 = process.cpuUsage();
    const r = await runNaive(sim.url, at, body);
    const c = process.cpuUsage(c0);
    const nl = sorted(r.lagMs);
    rows.push({
      client: "straightforward",
      offered,
      achievedRatio: (r.sent - 1) / ((r.lastSendMs - r.firstSendMs) / 1000) / offered,
      lagP50Ms: percentile(nl, 50) ?? Number.NaN,
      lagP99Ms: percentile(nl, 99) ?? Number.NaN,
      cpuMsPerRequest: (c.user + c.system) / 1000 / r.sent,
      ok: r.ok,
      requests: r.sent,
    });
  }
  for (const row of rows.slice(values["no-naive"] ? -1 : -2)) {
    if (row.threadCpuMsPerRequest)
      console.log(`  CPU ms/request by thread: ${JSON.stringify(row.threadCpuMsPerRequest)}`);
    console.log(
      `${row.client.padEnd(16)} offered ${row.offered.toFixed(0).padStart(5)} req/s  achieved/offered ${row.achievedRatio.toFixed(3)}  lag p50 ${row.lagP50Ms.toFixed(3)} ms p99 ${row.lagP99Ms.toFixed(3)} ms  CPU ${row.cpuMsPerRequest.toFixed(3)} ms/req  ok ${row.ok}/${row.requests}`,
    );
  }
}
await sim.stop();
const sustained = rows
  .filter((r) => r.client === "tokenforge" && r.achievedRatio >= 0.99 && r.lagP99Ms < 1)
  .reduce((m, r) => Math.max(m, r.offered), 0);
console.log(
  `highest offered rate with achieved/offered >= 0.99 and lag p99 < 1 ms: ${sustained.toFixed(0)} req/s`,
);
writeResult("harness-rate", { seconds, writeEach: values["write-each"], rows, sustainedRate: sustained });
