/**
 * The search for the best rate under the SLOs: the highest offered rate at which at least the
 * target fraction of requests (e.g. 99 %) met every SLO. It brackets first (doubling from a
 * start rate while rates pass, halving while they fail), then narrows the bracket [passing,
 * failing] by interpolating where the attainment crosses the target (halving instead while the
 * passing end is at 100 %, where a line says nothing), each step kept within the bracket's middle
 * half so it shrinks by at least a quarter, until it is narrower than the tolerance or the points
 * run out.
 *
 * Each point's attainment is a binomial proportion, so each is noisy. Two things account for it:
 * the decisions use a monotone fit of the attainments (attainment cannot rise with the rate, so
 * adjacent points that disagree are pooled, weighted by their requests), and the answer comes
 * with an interval from each point's Wilson interval: the highest rate whose attainment is
 * confirmed above the target and the lowest confirmed below it.
 */
import type { CostMetrics, WorkloadMetrics } from "./metric-types.js";
import { normalQuantile, wilsonInterval } from "./stats.js";
import type { SloSearchSpec } from "./types.js";

export const SEARCH_DEFAULTS = {
  attainment: 0.99,
  confidence: 0.95,
  tolerance: 0.05,
  maxPoints: 12,
} as const;
/** Bracketing multiplies (or divides) the rate by this until the target is crossed. */
const GROWTH = 2;
/** A narrowing step lands in [lo + f·span, hi − f·span], so each shrinks the bracket by ≥ f. */
const MIN_STEP = 0.25;

/** One rate the search measured. */
export interface SearchPoint {
  qps: number;
  /** The result's workload name for this rate (`<workload>/<rate>rps`). */
  label: string;
  /** Measured requests that met every SLO, of all measured requests (failed ones miss). */
  met: number;
  total: number;
  /** met / total. */
  attainment: number;
  /** Wilson interval of the attainment at the search's confidence. */
  ci: [number, number];
  /** The attainment after the monotone fit over every point measured (what the decisions use). */
  fitted: number;
  /** fitted ≥ the target. */
  pass: boolean;
  /** Requests per second that met every SLO. */
  goodput?: number;
  /** Why the point's run stopped early (saturation), when it did: the point fails. */
  stopped?: string;
}

/** The capacity point: the rate costs are priced at. */
export interface CapacityPoint {
  /** The highest measured rate that passed (req/s offered). */
  rate: number;
  /**
   * Where the true capacity lies at `confidence`: above `low` (the highest rate whose attainment's
   * interval lies wholly at or above the target) and below `high` (the lowest rate whose interval
   * lies wholly below it). Either is absent when no point confirmed that side.
   */
  ci: { low?: number; high?: number; confidence: number };
  /** The target attainment, and the attainment measured at `rate` with its Wilson interval. */
  target: number;
  attainment: number;
  attainmentCi: [number, number];
  /** Requests per second meeting every SLO at `rate`. */
  goodput?: number;
  outputTokenThroughput?: number;
  /** Cost per 1M tokens at `rate`, when the config has a cost profile. */
  cost?: CostMetrics;
  /** The result (`results[].workload`) measured at `rate`. */
  label: string;
}

export type SearchEnd = "converged" | "max-points" | "max-qps" | "no-passing-rate" | "interrupted";

export interface SearchOutcome {
  points: SearchPoint[];
  capacity?: CapacityPoint;
  end: SearchEnd;
  /** Notes on the answer (an unconfirmed bound, too few requests to confirm the target). */
  notes: string[];
}

/** What one measured rate reduces to; `stopped` marks a run stopped as over capacity. */
export interface MeasuredRate {
  label: string;
  metrics: WorkloadMetrics;
  stopped?: string;
}

/**
 * Runs the search: `measure(qps)` runs the workload at that rate and returns its metrics, or
 * undefined when the run was interrupted.
 */
export async function searchCapacity(
  spec: SloSearchSpec,
  startQps: number,
  measure: (qps: number) => Promise<MeasuredRate | undefined>,
): Promise<SearchOutcome> {
  const measured: Array<{ qps: number; m: MeasuredRate }> = [];
  let end: SearchEnd | undefined;
  while (end === undefined) {
    const points = fitPoints(measured, spec);
    const step = nextStep(points, spec, startQps);
    if (step.end !== undefined) {
      end = step.end;
      break;
    }
    if (measured.length >= spec.maxPoints) {
      end = points.some((p) => p.pass) ? "max-points" : "no-passing-rate";
      break;
    }
    const m = await measure(step.qps);
    if (m === undefined) {
      end = "interrupted";
      break;
    }
    measured.push({ qps: step.qps, m });
  }
  const points = fitPoints(measured, spec);
  return { points, end, ...capacityOf(points, measured, spec) };
}

/** The next rate to measure, or why the search is over. Points are sorted by rate. */
export function nextStep(
  points: readonly SearchPoint[],
  spec: SloSearchSpec,
  startQps: number,
): { qps: number; end?: undefined } | { end: SearchEnd } {
  const cap = spec.maxQps ?? Number.POSITIVE_INFINITY;
  if (points.length === 0) return { qps: Math.min(startQps, cap) };
  const { lo, hi } = bracket(points);
  if (hi === undefined) {
    const top = lo!.qps;
    if (top >= cap) return { end: "max-qps" };
    return { qps: Math.min(top * GROWTH, cap) };
  }
  if (lo === undefined) return { qps: hi.qps / GROWTH };
  if (hi.qps - lo.qps <= spec.tolerance * lo.qps) return { end: "converged" };
  // Where the fitted attainment crosses the target on the line between the two, kept inside. A
  // passing rate at 100 % says nothing about where the drop begins (the curve is flat there and
  // the line would hug it): then halfway.
  const f = lo.fitted >= 1 ? 0.5 : (lo.fitted - spec.attainment) / (lo.fitted - hi.fitted);
  const t = Math.min(1 - MIN_STEP, Math.max(MIN_STEP, Number.isFinite(f) ? f : 0.5));
  return { qps: lo.qps + t * (hi.qps - lo.qps) };
}

/** The highest passing point and the lowest failing one above it (the fit keeps them ordered). */
function bracket(points: readonly SearchPoint[]): { lo?: SearchPoint; hi?: SearchPoint } {
  let lo: SearchPoint | undefined;
  let hi: SearchPoint | undefined;
  for (const p of points) {
    if (p.pass) lo = p;
    else if (hi === undefined) hi = p;
  }
  return { ...(lo ? { lo } : {}), ...(hi ? { hi } : {}) };
}

/**
 * The points sorted by rate with their monotone fit: pool-adjacent-violators on met/total, so the
 * fitted attainment never rises with the rate. A point whose run was stopped as over capacity
 * counts every request it did not complete within the SLOs, and fails whatever its attainment.
 */
export function fitPoints(
  measured: ReadonlyArray<{ qps: number; m: MeasuredRate }>,
  spec: Pick<SloSearchSpec, "attainment" | "confidence">,
): SearchPoint[] {
  const rows = measured
    .map(({ qps, m }) => {
      const total = m.metrics.counts.total;
      const met = m.metrics.goodput?.met ?? 0;
      return { qps, m, met, total };
    })
    .sort((a, b) => a.qps - b.qps);
  // Blocks of pooled counts, each covering rows [start, end).
  const blocks: Array<{ met: number; total: number; start: number; end: number }> = [];
  rows.forEach((r, i) => {
    blocks.push({ met: r.met, total: r.total, start: i, end: i + 1 });
    while (blocks.length >= 2) {
      const b = blocks[blocks.length - 1]!;
      const a = blocks[blocks.length - 2]!;
      if (ratio(a) >= ratio(b)) break;
      blocks.splice(blocks.length - 2, 2, {
        met: a.met + b.met,
        total: a.total + b.total,
        start: a.start,
        end: b.end,
      });
    }
  });
  const fitted = new Array<number>(rows.length);
  for (const b of blocks) for (let i = b.start; i < b.end; i++) fitted[i] = ratio(b);
  // A stopped (over-capacity) point fails, and so does every rate above it.
  const firstStopped = rows.findIndex((r) => r.m.stopped !== undefined);
  return rows.map((r, i) => {
    const p: SearchPoint = {
      qps: r.qps,
      label: r.m.label,
      met: r.met,
      total: r.total,
      attainment: r.total > 0 ? r.met / r.total : 0,
      ci: wilsonInterval(r.met, r.total, spec.confidence),
      fitted: fitted[i]!,
      pass: fitted[i]! >= spec.attainment && (firstStopped < 0 || i < firstStopped),
    };
    const goodput = r.m.metrics.goodput?.requestsPerS;
    if (goodput !== undefined) p.goodput = goodput;
    if (r.m.stopped !== undefined) p.stopped = r.m.stopped;
    return p;
  });
}

function ratio(b: { met: number; total: number }): number {
  return b.total > 0 ? b.met / b.total : 0;
}

function capacityOf(
  points: readonly SearchPoint[],
  measured: ReadonlyArray<{ qps: number; m: MeasuredRate }>,
  spec: SloSearchSpec,
): { capacity?: CapacityPoint; notes: string[] } {
  const notes: string[] = [];
  const { lo } = bracket(points);
  if (lo === undefined) {
    notes.push(`no rate measured met the SLOs for ${pct(spec.attainment)} of its requests`);
    return { notes };
  }
  const target = spec.attainment;
  let low: number | undefined;
  let high: number | undefined;
  for (const p of points) {
    if (p.pass && p.ci[0] >= target) low = p.qps;
    if (high === undefined && (p.ci[1] < target || p.stopped !== undefined)) high = p.qps;
  }
  if (low === undefined) {
    const z = normalQuantile(1 - (1 - spec.confidence) / 2);
    const needed = Math.ceil((z * z * target) / (1 - target));
    notes.push(
      `no rate confirmed ${pct(target)} attainment at ${pct(spec.confidence)} confidence: that takes at ` +
        `least ${needed} requests per rate, all meeting the SLOs`,
    );
  }
  if (high === undefined)
    notes.push("no rate measured was confirmed to miss the target: the capacity may be higher");
  const metrics = measured.find((x) => x.qps === lo.qps)!.m.metrics;
  const capacity: CapacityPoint = {
    rate: lo.qps,
    ci: {
      ...(low === undefined ? {} : { low }),
      ...(high === undefined ? {} : { high }),
      confidence: spec.confidence,
    },
    target,
    attainment: lo.attainment,
    attainmentCi: lo.ci,
    label: lo.label,
  };
  if (lo.goodput !== undefined) capacity.goodput = lo.goodput;
  if (metrics.outputTokenThroughput !== undefined)
    capacity.outputTokenThroughput = metrics.outputTokenThroughput;
  if (metrics.cost !== undefined) capacity.cost = metrics.cost;
  return { capacity, notes };
}

function pct(x: number): string {
  return `${Number((x * 100).toPrecision(4))} %`;
}

/** A rate as a label: four significant digits (the tolerance keeps measured rates further apart). */
export function rateLabel(qps: number): string {
  return `${Number(qps.toPrecision(4))}rps`;
}
