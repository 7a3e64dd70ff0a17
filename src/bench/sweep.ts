/**
 * The sweep profile: a synchronous baseline (one request at a time), then maximum throughput
 * (everything at once), then `points` open-loop rates spaced evenly between the two measured
 * request rates. The result is the latency–throughput curve and the highest measured rate at
 * which at least 99 % of requests met every SLO.
 */
import type { WorkloadMetrics } from "./metric-types.js";
import type { Workload } from "./types.js";

/** A rate meets the SLOs when at least this fraction of its requests met all of them. */
export const SLO_ATTAINMENT = 0.99;

export interface SweepPoint {
  label: string;
  kind: "synchronous" | "throughput" | "rate";
  offeredQps?: number;
  metrics: WorkloadMetrics;
}

export interface SweepSummary {
  workload: string;
  runtime: string;
  points: SweepPoint[];
  /** The highest offered rate whose requests met every SLO (absent when none did or no SLO). */
  maxRateMeetingSlo?: number;
  sloAttainment: number;
}

/** The workloads of the three stages; `rates` is filled once the first two have been measured. */
export function synchronousStage(w: Workload): Workload {
  const { sweep: _sweep, qps: _qps, maxConcurrency: _m, ...rest } = w;
  return { ...rest, name: `${w.name}/synchronous`, concurrency: 1 };
}

export function throughputStage(w: Workload): Workload {
  const { sweep: _sweep, qps: _qps, concurrency: _c, ...rest } = w;
  return { ...rest, name: `${w.name}/throughput` };
}

export function rateStage(w: Workload, qps: number): Workload {
  const { sweep: _sweep, concurrency: _c, ...rest } = w;
  return { ...rest, name: `${w.name}/${qps.toPrecision(3)}rps`, qps };
}

/** `points` rates strictly between the synchronous and the maximum request rate. */
export function sweepRates(syncRate: number, maxRate: number, points: number): number[] {
  const lo = Math.min(syncRate, maxRate);
  const hi = Math.max(syncRate, maxRate);
  const out: number[] = [];
  for (let k = 1; k <= points; k++) out.push(lo + ((hi - lo) * k) / (points + 1));
  return out;
}

export function summarizeSweep(workload: Workload, runtime: string, points: SweepPoint[]): SweepSummary {
  let best: number | undefined;
  const hasSlo =
    workload.slo.ttftMs !== undefined ||
    workload.slo.tpotMs !== undefined ||
    workload.slo.e2eMs !== undefined;
  if (hasSlo) {
    for (const p of points) {
      const fraction = p.metrics.goodput?.fraction;
      const rate = p.offeredQps ?? p.metrics.requestThroughput;
      if (
        fraction !== undefined &&
        fraction >= SLO_ATTAINMENT &&
        rate !== undefined &&
        (best === undefined || rate > best)
      ) {
        best = rate;
      }
    }
  }
  return {
    workload: workload.name,
    runtime,
    points,
    ...(best === undefined ? {} : { maxRateMeetingSlo: best }),
    sloAttainment: SLO_ATTAINMENT,
  };
}
