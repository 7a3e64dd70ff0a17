/**
 * The notes that come with a workload's metrics, on figures to read with care: client lag (the
 * client did not keep the schedule, or requests waited for max_concurrency), missing usage, and
 * token counts that differ from the plan.
 */
import type { WorkloadMetrics } from "./metric-types.js";
import type { Summary } from "./stats.js";

/** Client lag above this (p99, ms) means the client did not keep the schedule. */
export const LAG_WARNING_P99_MS = 1;

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/**
 * What the lag did to the run, with TTFT from the scheduled time beside TTFT from send; undefined
 * when the client kept the schedule and no request waited.
 */
export function describeLag(
  clientLagMs: Summary | undefined,
  queued: number | undefined,
  ttftMs: Summary | undefined,
  ttftFromScheduledMs: Summary | undefined,
): string | undefined {
  const lagMessages: string[] = [];
  if (clientLagMs !== undefined && clientLagMs.p99 > LAG_WARNING_P99_MS) {
    lagMessages.push(
      `client lag p99 ${fmt(clientLagMs.p99)} ms > ${LAG_WARNING_P99_MS} ms: requests left later than scheduled, ` +
        "so the offered load was lower than planned; TTFT from scheduled time includes the lag",
    );
  }
  if (queued !== undefined && queued > 0) {
    lagMessages.push(`${queued} request(s) waited for max_concurrency before being sent`);
  }
  if (lagMessages.length > 0 && ttftMs !== undefined && ttftFromScheduledMs !== undefined) {
    lagMessages.push(
      `TTFT p50/p99 from the scheduled time ${fmt(ttftFromScheduledMs.p50)}/${fmt(ttftFromScheduledMs.p99)} ms, ` +
        `from send ${fmt(ttftMs.p50)}/${fmt(ttftMs.p99)} ms`,
    );
  }
  return lagMessages.length > 0 ? lagMessages.join("; ") : undefined;
}

/** Every note on the metrics, the lag message first. */
export function metricWarnings(m: WorkloadMetrics): string[] {
  const out: string[] = [];
  if (m.lagMessage !== undefined) out.push(m.lagMessage);
  if (m.tokens.usageMissing > 0) {
    out.push(
      `${m.tokens.usageMissing} of ${m.counts.ok} ok request(s) reported no usage: token throughputs count only ` +
        "the requests that did (a lower bound), TPOT skips them",
    );
  }
  const mm = m.tokenMismatch;
  if (mm.promptVsPlanned > 0) {
    out.push(
      `${mm.promptVsPlanned} request(s) had a server prompt token count different from the plan ` +
        `(planned ${mm.plannedPromptTokens}, server ${mm.serverPromptTokens} in total)`,
    );
  }
  if (mm.completionVsRequested > 0) {
    out.push(
      `${mm.completionVsRequested} request(s) generated a different number of tokens than max_tokens ` +
        `(requested ${mm.requestedCompletionTokens}, server ${mm.serverCompletionTokens} in total)`,
    );
  }
  if (m.counts.total > 0 && m.counts.ok === 0) out.push("no request succeeded");
  return out;
}
