/**
 * A fit's error, by replay: each workload's requests are replayed through the fitted model at their
 * measured send times (replay.ts), or as a closed loop of the same concurrency, and the simulated
 * TTFT, TPOT, E2E and throughput compared with the measured ones. The same replay refines the
 * prefill estimate.
 */
import { aggregate } from "../bench/aggregate.js";
import type { WorkloadMetrics } from "../bench/metric-types.js";
import { decodeStepMs, type PerfModel } from "../runtimes/sim/perf-model.js";
import { type FitFigure, outputOf, promptOf, type TraceLine, type WorkloadFitError } from "./fit-types.js";
import { replay, replayMetrics, type SimArrival } from "./replay.js";

/**
 * The figures a fit is judged by. ITL is left out: the model writes one token per chunk, while a
 * real server may merge tokens into one chunk (llama.cpp holds back partial UTF-8), so chunk gaps
 * differ where per-token time (TPOT) does not.
 */
const FIGURES: Array<[string, (s: WorkloadMetrics) => number | undefined]> = [
  ["ttft_p50_ms", (s) => s.ttftMs?.p50],
  ["ttft_p90_ms", (s) => s.ttftMs?.p90],
  ["tpot_p50_ms", (s) => s.tpotMs?.p50],
  ["e2e_p50_ms", (s) => s.e2eMs?.p50],
  ["e2e_p90_ms", (s) => s.e2eMs?.p90],
  ["output_tokens_per_s", (s) => s.outputTokenThroughput],
];

/** A workload's requests as the replay takes them, and the measured figures they are judged by. */
export interface Prepared {
  workload: string;
  arrivals: SimArrival[];
  measured: WorkloadMetrics;
  closedLoop: number | undefined;
}

export function prepare(
  workload: string,
  g: TraceLine[],
  kvCacheTokens: number,
  closedLoop: number | undefined,
): Prepared {
  const t0 = g.reduce((m, t) => Math.min(m, t.sendMs), Number.POSITIVE_INFINITY);
  const arrivals: SimArrival[] = g.map((t) => {
    // A request larger than the cache could never run in the model: capped rather than failed.
    const promptTokens = Math.min(promptOf(t), kvCacheTokens - 1);
    return {
      atMs: t.sendMs - t0,
      promptTokens,
      outputTokens: Math.max(1, Math.min(outputOf(t), kvCacheTokens - promptTokens)),
    };
  });
  return { workload, arrivals, measured: aggregate(g, { slo: {} }), closedLoop };
}

function simulated(model: PerfModel, p: Prepared): WorkloadMetrics {
  const opts = p.closedLoop === undefined ? {} : { closedLoop: p.closedLoop };
  return replayMetrics(p.arrivals, replay(model, p.arrivals, opts));
}

/** Replays one workload's requests through the model and compares the figures. */
export function workloadError(model: PerfModel, p: Prepared, heldOut: boolean): WorkloadFitError {
  const sim = simulated(model, p);
  const figures: FitFigure[] = [];
  for (const [metric, pick] of FIGURES) {
    const m = pick(p.measured);
    const s = pick(sim);
    if (m === undefined || s === undefined || m <= 0) continue;
    figures.push({ metric, measured: m, simulated: s, relError: (s - m) / m });
  }
  const abs = figures.map((f) => Math.abs(f.relError));
  return {
    workload: p.workload,
    heldOut,
    requests: p.arrivals.length,
    figures,
    meanAbsRelError: abs.length > 0 ? abs.reduce((a, b) => a + b, 0) / abs.length : Number.NaN,
  };
}

/**
 * Refines the prefill rate and overhead by simulation: the pair whose replay of the fitted
 * workloads comes closest to their measured figures (the ones the fit is judged by), in summed
 * |log ratio|, searched around the direct estimate. The direct estimate sees only the step that finished a
 * prompt; an engine that prefills in chunks between decode steps (llama.cpp's batch, vLLM's
 * chunked prefill) spreads a prompt over several, which only a replay accounts for.
 */
export function refinePrefill(model: PerfModel, fitted: Prepared[]): PerfModel {
  const cost = (m: PerfModel): number => {
    let c = 0;
    for (const p of fitted) {
      const s = simulated(m, p);
      for (const [, pick] of FIGURES) {
        const a = pick(p.measured);
        const b = pick(s);
        if (a !== undefined && b !== undefined && a > 0 && b > 0) c += Math.abs(Math.log(b / a));
      }
    }
    return c;
  };
  let best = model;
  let bestCost = cost(model);
  const consider = (m: PerfModel) => {
    const c = cost(m);
    if (c < bestCost) {
      best = m;
      bestCost = c;
    }
  };
  for (const spanLog2 of [2, 0.5]) {
    const rate0 = best.prefillTokensPerS;
    for (let k = -8; k <= 8; k++)
      if (k !== 0) consider({ ...best, prefillTokensPerS: rate0 * 2 ** ((k / 8) * spanLog2) });
    const o0 = best.prefillOverheadMs;
    const scale = Math.max(o0, decodeStepMs(best.decode, 1));
    for (let k = 0; k <= 8; k++) consider({ ...best, prefillOverheadMs: (scale * k * spanLog2) / 8 });
  }
  return best;
}
