/**
 * What-if capacity planning on the simulated engine: "how many replicas hold p99 TTFT < 500 ms at
 * 20 req/s?". A workload's open-loop schedule and token counts (the same draws a benchmark plan
 * makes for the seed, bench/plan.ts) are replayed through 1, 2, … replicas of a performance model
 * (replay.ts, round-robin as the gateway routes) until every target holds.
 */

import type { WorkloadMetrics } from "../bench/metric-types.js";
import { loopMode, planLengths } from "../bench/plan.js";
import type { Summary } from "../bench/stats.js";
import type { Workload } from "../bench/types.js";
import { TokenForgeError } from "../errors.js";
import type { PerfModel } from "../runtimes/sim/perf-model.js";
import { replay, replayMetrics, type SimArrival } from "./replay.js";

export const TARGET_METRICS = ["ttft", "tpot", "itl", "e2e"] as const;
export const TARGET_STATS = ["mean", "p50", "p90", "p95", "p99"] as const;

/** A bound on one latency statistic, e.g. p99 TTFT ≤ 500 ms. */
export interface CapacityTarget {
  metric: (typeof TARGET_METRICS)[number];
  stat: (typeof TARGET_STATS)[number];
  maxMs: number;
}

export interface CapacityRow {
  replicas: number;
  latency: Pick<WorkloadMetrics, "ttftMs" | "tpotMs" | "itlMs" | "e2eMs" | "outputTokenThroughput">;
  /** The targets this replica count misses, as `ttft_p99_ms 812.4 > 500`. */
  misses: string[];
  meanBatch: number;
  maxWaiting: number;
}

export interface CapacityResult {
  qps: number;
  requests: number;
  targets: CapacityTarget[];
  /** The fewest replicas meeting every target; undefined when none up to the limit does. */
  replicas?: number;
  /** Every replica count tried, from 1 up. */
  rows: CapacityRow[];
}

/** Parses `ttft_p99_ms=500` (also `ttft_p99_ms<500`, `ttft_p99_ms<=500`); the error names the flag. */
export function parseTarget(text: string, flag = "--slo"): CapacityTarget {
  const m = /^\s*([a-z0-9]+)_([a-z0-9]+)_ms\s*(?:=|<=|<)\s*([0-9.eE+-]+)\s*$/.exec(text);
  const bad = (why: string) =>
    new TokenForgeError("invalid_request", `${flag} ${JSON.stringify(text)}: ${why}`, {
      field: flag.replace(/^--/, ""),
    });
  if (!m) throw bad("expected METRIC_STAT_ms=MS, e.g. ttft_p99_ms=500");
  const [, metric, stat, value] = m;
  if (!(TARGET_METRICS as readonly string[]).includes(metric!))
    throw bad(`metric must be one of ${TARGET_METRICS.join(", ")}`);
  if (!(TARGET_STATS as readonly string[]).includes(stat!))
    throw bad(`statistic must be one of ${TARGET_STATS.join(", ")}`);
  const maxMs = Number(value);
  if (!Number.isFinite(maxMs) || maxMs <= 0) throw bad("the bound must be a number of milliseconds > 0");
  return { metric: metric as CapacityTarget["metric"], stat: stat as CapacityTarget["stat"], maxMs };
}

export function targetName(t: CapacityTarget): string {
  return `${t.metric}_${t.stat}_ms`;
}

/** The workload's open-loop arrivals and token counts; refuses what capacity planning cannot replay. */
export function workloadArrivals(w: Workload): SimArrival[] {
  if (w.dataset.kind !== "synthetic")
    throw new TokenForgeError(
      "invalid_request",
      `workload ${w.name}: capacity planning draws synthetic lengths; a ${w.dataset.kind} dataset's token counts need a target's tokenizer`,
      { field: "dataset" },
    );
  if (w.concurrency !== undefined || w.qps === undefined || !Number.isFinite(w.qps))
    throw new TokenForgeError(
      "invalid_request",
      `workload ${w.name}: capacity planning needs an open-loop rate (qps), not a closed loop or a burst`,
      { field: "qps" },
    );
  const mode = loopMode(w);
  if (mode.kind !== "open")
    throw new TokenForgeError("invalid_request", "expected an open loop", { field: "qps" });
  const lengths = planLengths(w);
  return Array.from(mode.atMs, (atMs, i) => ({
    atMs,
    promptTokens: lengths.promptTokens(i),
    outputTokens: lengths.maxTokens(i),
  }));
}

function statOf(s: Summary | undefined, stat: CapacityTarget["stat"]): number | undefined {
  return s === undefined ? undefined : s[stat];
}

/** Replays the arrivals on 1..maxReplicas replicas, stopping at the first that meets every target. */
export function planCapacity(
  model: PerfModel,
  arrivals: readonly SimArrival[],
  targets: readonly CapacityTarget[],
  opts: { qps: number; maxReplicas?: number; seed?: number },
): CapacityResult {
  if (targets.length === 0)
    throw new TokenForgeError("invalid_request", "give at least one latency target (e.g. ttft_p99_ms=500)", {
      field: "slo",
    });
  for (const [i, a] of arrivals.entries())
    if (a.promptTokens + a.outputTokens > model.kvCacheTokens)
      throw new TokenForgeError(
        "invalid_request",
        `request ${i} needs ${a.promptTokens + a.outputTokens} KV-cache tokens; the model holds ${model.kvCacheTokens}`,
        { field: "kv_cache_tokens" },
      );
  const maxReplicas = opts.maxReplicas ?? 64;
  const rows: CapacityRow[] = [];
  let answer: number | undefined;
  for (let n = 1; n <= maxReplicas; n++) {
    const sim = replay(model, arrivals, { replicas: n, seed: opts.seed ?? 0 });
    const m = replayMetrics(arrivals, sim);
    const latency: CapacityRow["latency"] = {};
    for (const key of ["ttftMs", "tpotMs", "itlMs", "e2eMs"] as const) if (m[key]) latency[key] = m[key];
    if (m.outputTokenThroughput !== undefined) latency.outputTokenThroughput = m.outputTokenThroughput;
    const misses: string[] = [];
    for (const t of targets) {
      const v = statOf(latency[`${t.metric}Ms`], t.stat);
      if (v === undefined) misses.push(`${targetName(t)} not measured`);
      else if (v > t.maxMs) misses.push(`${targetName(t)} ${v.toFixed(1)} > ${t.maxMs}`);
    }
    rows.push({ replicas: n, latency, misses, meanBatch: sim.meanBatch, maxWaiting: sim.maxWaiting });
    if (misses.length === 0) {
      answer = n;
      break;
    }
  }
  return {
    qps: opts.qps,
    requests: arrivals.length,
    targets: [...targets],
    ...(answer === undefined ? {} : { replicas: answer }),
    rows,
  };
}
