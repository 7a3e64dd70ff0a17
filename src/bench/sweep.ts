/**
 * The sweep profiles. `points`: a synchronous baseline (one request at a time), then maximum
 * throughput (everything at once), then `points` open-loop rates spaced evenly between the two
 * measured request rates; the result is the latency–throughput curve and the highest measured
 * rate at which at least 99 % of requests met every SLO. `search`: the synchronous baseline (unless
 * a start rate is given), then the rates slo-search.ts chooses, ending in the capacity point.
 */
import type { WorkloadMetrics } from "./metric-types.js";
import {
  type CapacityPoint,
  rateLabel,
  type SearchEnd,
  type SearchPoint,
  searchCapacity,
} from "./slo-search.js";
import type { SloSearchSpec, Workload } from "./types.js";

/** A rate meets the SLOs when at least this fraction of its requests met all of them. */
export const SLO_ATTAINMENT = 0.99;

export interface SweepPoint {
  label: string;
  kind: "synchronous" | "throughput" | "rate";
  offeredQps?: number;
  metrics: WorkloadMetrics;
  /** Why the point's run was stopped as over capacity; the sweep climbs no further. */
  stopped?: string;
}

export interface SweepSummary {
  workload: string;
  runtime: string;
  points: SweepPoint[];
  /** The highest offered rate whose requests met every SLO (absent when none did or no SLO). */
  maxRateMeetingSlo?: number;
  sloAttainment: number;
  /** How the rates were chosen (absent in results written before the search existed: points). */
  mode?: "points" | "search";
  /**
   * A search's answer: the highest rate meeting the SLOs for the target share of requests, with
   * its confidence interval, attainment and goodput. Costs are priced at this point.
   */
  capacity?: CapacityPoint;
  /** A search's measured rates with their attainment and verdict, and why it ended. */
  search?: { points: SearchPoint[]; end: SearchEnd; notes: string[] };
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
    mode: "points",
  };
}

/** A search's rate: an open loop at `qps`, named by the rate to four significant digits. */
export function searchStage(w: Workload, qps: number): Workload {
  const { sweep: _sweep, concurrency: _c, ...rest } = w;
  return { ...rest, name: `${w.name}/${rateLabel(qps)}`, qps };
}

/** Runs one stage of a sweep; undefined when the run was interrupted. */
export type RunStage = (
  w: Workload,
  kind: SweepPoint["kind"],
) => Promise<{ metrics: WorkloadMetrics; stopped?: string } | undefined>;

/** The search profile: the baseline when no start rate is given, then the search (slo-search.ts). */
export async function searchSweep(
  workload: Workload,
  runtime: string,
  spec: SloSearchSpec,
  stage: RunStage,
): Promise<SweepSummary> {
  const points: SweepPoint[] = [];
  let start = spec.startQps;
  if (start === undefined) {
    const w = synchronousStage(workload);
    const r = await stage(w, "synchronous");
    if (r !== undefined) points.push({ label: w.name, kind: "synchronous", metrics: r.metrics });
    start = r?.metrics.requestThroughput;
  }
  const outcome =
    start === undefined || !(start > 0)
      ? {
          points: [],
          end: "no-passing-rate" as const,
          notes: ["no request of the synchronous baseline completed: no rate to start from"],
        }
      : await searchCapacity(spec, start, async (qps) => {
          const w = searchStage(workload, qps);
          const r = await stage(w, "rate");
          if (r === undefined) return undefined;
          points.push({
            label: w.name,
            kind: "rate",
            offeredQps: qps,
            metrics: r.metrics,
            ...(r.stopped === undefined ? {} : { stopped: r.stopped }),
          });
          return {
            label: w.name,
            metrics: r.metrics,
            ...(r.stopped === undefined ? {} : { stopped: r.stopped }),
          };
        });
  const capacity = "capacity" in outcome ? outcome.capacity : undefined;
  return {
    workload: workload.name,
    runtime,
    points,
    ...(capacity === undefined ? {} : { maxRateMeetingSlo: capacity.rate, capacity }),
    sloAttainment: spec.attainment,
    mode: "search",
    search: { points: outcome.points, end: outcome.end, notes: outcome.notes },
  };
}

/** One line on a sweep's answer for the terminal. */
export function sweepLine(s: SweepSummary): string {
  const head = `sweep ${s.workload} on ${s.runtime}`;
  const c = s.capacity;
  if (s.mode === "search") {
    if (c === undefined) return `${head}: no rate met the SLOs (search ${s.search?.end ?? "ended"})`;
    const fmt = (x: number | undefined) => (x === undefined ? "?" : x.toFixed(2));
    const goodput = c.goodput === undefined ? "" : `, goodput ${c.goodput.toFixed(2)} req/s`;
    return (
      `${head}: capacity ${c.rate.toFixed(2)} req/s (${Math.round(c.ci.confidence * 100)} % interval ` +
      `${fmt(c.ci.low)}–${fmt(c.ci.high)}; ${(c.attainment * 100).toFixed(1)} % of requests met the SLOs` +
      `${goodput}; search ${s.search?.end})`
    );
  }
  const best =
    s.maxRateMeetingSlo === undefined ? "none met the SLOs" : `${s.maxRateMeetingSlo.toFixed(2)} req/s`;
  return `${head}: highest rate meeting the SLOs: ${best}`;
}
