/**
 * Whether a finished run stands: it fails when any workload on any runtime had all its measured
 * requests end as errors, or more of them than the workload's `max_error_fraction`. A failed run
 * keeps its results (they show what went wrong) but its status is `failed`, with the reason and
 * the most frequent error messages of each workload that broke the limit.
 */
import { DEFAULT_MAX_ERROR_FRACTION } from "./config-normalize.js";
import type { ErrorSample, WorkloadMetrics } from "./metric-types.js";
import type { Workload } from "./types.js";

/** How many of the most frequent error messages a failure lists per workload. */
const TOP_REASONS = 3;

/** One workload on one runtime whose errors broke the limit. */
export interface ErrorBreach {
  workload: string;
  runtime: string;
  total: number;
  errored: number;
  maxErrorFraction: number;
  /** The most frequent error messages, most frequent first. */
  reasons: { error: string; status?: number; count: number }[];
}

export interface RunFailure {
  /** One line: what failed, and the most frequent reason. */
  message: string;
  breaches: ErrorBreach[];
}

/** The breach of one measured workload's errors, or undefined when they stayed within its limit. */
export function errorBreach(
  workload: Workload,
  runtime: string,
  m: WorkloadMetrics,
): ErrorBreach | undefined {
  const { total, errored } = m.counts;
  const limit = workload.maxErrorFraction ?? DEFAULT_MAX_ERROR_FRACTION;
  if (total === 0 || errored === 0) return undefined;
  if (errored < total && errored / total <= limit) return undefined;
  return {
    workload: workload.name,
    runtime,
    total,
    errored,
    maxErrorFraction: limit,
    reasons: topReasons(m.errorSamples),
  };
}

/** The run's failure from its breaches; undefined when there were none. */
export function runFailure(breaches: readonly ErrorBreach[]): RunFailure | undefined {
  if (breaches.length === 0) return undefined;
  const first = breaches[0]!;
  const more = breaches.length > 1 ? ` (and ${breaches.length - 1} more workload/runtime pairs)` : "";
  const top = first.reasons[0];
  return {
    message: `${describeBreach(first)}${more}${top === undefined ? "" : `; most frequent: ${top.count}× ${top.error}`}`,
    breaches: [...breaches],
  };
}

/** `w on a: 10 of 10 requests failed` or `… 6 of 10 requests failed, over max_error_fraction 0.5`. */
export function describeBreach(b: ErrorBreach): string {
  const what = `${b.workload} on ${b.runtime}: ${b.errored} of ${b.total} requests failed`;
  return b.errored === b.total ? what : `${what}, over max_error_fraction ${b.maxErrorFraction}`;
}

/** The failure as lines for a terminal: each breach, then its top reasons with their counts. */
export function failureLines(f: RunFailure): string[] {
  const lines: string[] = [];
  for (const b of f.breaches) {
    lines.push(describeBreach(b));
    for (const r of b.reasons) lines.push(`  ${r.count}× ${r.error}`);
  }
  return lines;
}

function topReasons(samples: readonly ErrorSample[]): ErrorBreach["reasons"] {
  return samples
    .filter((s) => s.outcome === "error")
    .sort((a, b) => b.count - a.count)
    .slice(0, TOP_REASONS)
    .map((s) => ({
      error: s.error,
      ...(s.status === undefined ? {} : { status: s.status }),
      count: s.count,
    }));
}
