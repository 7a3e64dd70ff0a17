/**
 * The notes that come with a workload's metrics, on figures to read with care: a schedule the
 * client did not keep (only where it changes a conclusion, docs/metrics.md "When a warning
 * fires"), missing usage, token counts that differ from the plan, and output lengths that are
 * not exact.
 */
import type { WorkloadMetrics } from "./metric-types.js";
import type { Summary } from "./stats.js";

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

/** Two-sided 95 %: the z of every interval below. */
const Z95 = 1.96;

/**
 * Below this fraction of a TTFT percentile, a difference changes no figure a report prints (they
 * keep two or three significant digits), whatever the sample says.
 */
export const TTFT_RESOLUTION = 0.01;

/** How the client kept an open-loop schedule (absent for closed loops and bursts: no schedule). */
export interface SendRate {
  /** Requests over the span of their scheduled times ((n − 1) / span), per second. */
  offeredQps: number;
  /** Requests over the span of their actual sends, per second. */
  achievedQps: number;
  /** 1 − achieved / offered (negative when the sends were denser than the schedule). */
  shortfall: number;
  /**
   * The run's own noise on a rate, relative: the standard error of a rate measured from n
   * arrivals whose gaps have coefficient of variation cv (1 for Poisson, 1/√burstiness for gamma,
   * 0 for constant), cv / √(n − 1), and never below one request in the run, 1 / (n − 1).
   */
  noise: number;
  /** Measured requests the figures are over. */
  requests: number;
}

/** The send rate of a schedule and the rate its requests actually left at. */
export function sendRate(scheduledMs: Float64Array, sentMs: Float64Array): SendRate | undefined {
  const n = scheduledMs.length;
  if (n < 3 || sentMs.length !== n) return undefined;
  const sched = Float64Array.from(scheduledMs).sort();
  const sent = Float64Array.from(sentMs).sort();
  const offeredSpan = sched[n - 1]! - sched[0]!;
  const achievedSpan = sent[n - 1]! - sent[0]!;
  if (!(offeredSpan > 0) || !(achievedSpan > 0)) return undefined;
  const meanGap = offeredSpan / (n - 1);
  let ss = 0;
  for (let i = 1; i < n; i++) {
    const d = sched[i]! - sched[i - 1]! - meanGap;
    ss += d * d;
  }
  const cv = n > 2 ? Math.sqrt(ss / (n - 2)) / meanGap : 0;
  const offeredQps = ((n - 1) * 1000) / offeredSpan;
  const achievedQps = ((n - 1) * 1000) / achievedSpan;
  return {
    offeredQps,
    achievedQps,
    shortfall: 1 - achievedQps / offeredQps,
    noise: Math.max(cv / Math.sqrt(n - 1), 1 / (n - 1)),
    requests: n,
  };
}

/**
 * How far above the `p`-th percentile of `sorted` the sample still allows it to be: the
 * distribution-free 95 % interval's upper end (the order statistic at rank
 * np + 1.96·√(np(1 − p))) minus the percentile, and never under TTFT_RESOLUTION of it. Undefined
 * when that rank is past the largest value: the sample is too small to bound this percentile
 * (p99 needs about 560 values), so no difference in it can be told from noise.
 */
export function percentileNoise(sorted: ArrayLike<number>, p: number, value: number): number | undefined {
  const n = sorted.length;
  const q = p / 100;
  const hi = Math.ceil(n * q + Z95 * Math.sqrt(n * q * (1 - q)));
  if (hi > n - 1) return undefined;
  return Math.max(sorted[hi]! - value, Math.abs(value) * TTFT_RESOLUTION);
}

export interface ScheduleInputs {
  /** Present only when the run had a schedule: an open loop at a finite rate. */
  rate: SendRate | undefined;
  /** Requests that waited for a max_concurrency slot. */
  queued: number | undefined;
  clientLagMs: Summary | undefined;
  ttftMs: Summary | undefined;
  ttftFromScheduledMs: Summary | undefined;
  /** TTFT from send of every request that has one, ascending. */
  ttftSorted: ArrayLike<number>;
}

/**
 * The warnings about keeping the schedule, each only when it changes a conclusion: the achieved
 * send rate fell short of the offered one by more than twice the run's own noise (the figures
 * then describe a lighter load than the one named), or a TTFT percentile from the scheduled time
 * lies beyond the noise of the same percentile from send (latency from the schedule then holds
 * the client's own delay). Closed loops and bursts have no schedule and get none. Each says what
 * to do.
 */
export function scheduleWarnings(s: ScheduleInputs): string[] {
  const out: string[] = [];
  const rate = s.rate;
  if (rate === undefined) return out;
  const queued = s.queued ?? 0;
  const lag = s.clientLagMs === undefined ? "" : `client lag p99 ${fmt(s.clientLagMs.p99)} ms`;
  const cause =
    queued > 0
      ? `${queued} request(s) waited for a max_concurrency slot: raise max_concurrency or lower qps to measure this rate`
      : `the client could not keep the schedule (${lag}): give it more CPU (fewer other processes, or a machine of its own) or lower qps`;
  if (rate.shortfall > 2 * rate.noise) {
    out.push(
      `offered load not reached: requests left at ${fmt(rate.achievedQps)} req/s of the ${fmt(rate.offeredQps)} req/s ` +
        `scheduled (${pct(rate.shortfall)} short, beyond twice the ±${pct(rate.noise)} noise of ${rate.requests} arrivals), ` +
        `so every figure describes a lighter load than planned; ${cause}`,
    );
  }
  const send = s.ttftMs;
  const sched = s.ttftFromScheduledMs;
  if (send !== undefined && sched !== undefined && s.ttftSorted.length > 0) {
    const beyond: string[] = [];
    for (const [p, key] of [
      [50, "p50"],
      [99, "p99"],
    ] as const) {
      const noise = percentileNoise(s.ttftSorted, p, send[key]);
      if (noise !== undefined && sched[key] - send[key] > noise)
        beyond.push(
          `${key} ${fmt(sched[key])} ms from the scheduled time vs ${fmt(send[key])} ms from send (noise ±${fmt(noise)} ms)`,
        );
    }
    if (beyond.length > 0) {
      out.push(
        `TTFT from the schedule differs from TTFT from send beyond the run's noise: ${beyond.join("; ")}. ` +
          `Requests left late, so latency from the schedule holds the client's own delay; read TTFT from send ` +
          `for the server alone, and to measure the planned load: ${cause}`,
      );
    }
  }
  return out;
}

/** Every note on the metrics, the lag message first. */
export function metricWarnings(m: WorkloadMetrics): string[] {
  const out: string[] = [];
  if (m.lagMessage !== undefined) out.push(m.lagMessage);
  if (m.tokens.usageMissing > 0) {
    out.push(
      `${m.tokens.usageMissing} of ${m.counts.ok} ok request(s) reported no usage: token throughputs count only ` +
        "the requests that did (a lower bound), TPOT skips them; a server that honours " +
        "stream_options.include_usage (always sent) reports it",
    );
  }
  const mm = m.tokenMismatch;
  if (mm.promptVsPlanned > 0) {
    out.push(
      `${mm.promptVsPlanned} request(s) had a server prompt token count different from the plan ` +
        `(planned ${mm.plannedPromptTokens}, server ${mm.serverPromptTokens} in total): prompt lengths are the ` +
        "server's, not the plan's; the result's calibration says how they were counted and what was passed over",
    );
  }
  const ol = m.outputLengths;
  if (ol !== undefined && !ol.exact) {
    const why = ol.ignoreEosSent
      ? `${ol.differ} of ${ol.compared} request(s) generated a different number of tokens than max_tokens ` +
        "(the server ignored ignore_eos or stopped early)"
      : `the server refuses ignore_eos, so requests went without it and ${ol.differ} of ${ol.compared} ` +
        "stopped where the model chose";
    out.push(
      `output lengths not exact: ${why}; requested ${ol.requestedTokens}, generated ${ol.generatedTokens} tokens in total. ` +
        "Output token throughput, TPOT and cost per output token are at the lengths the server chose, not the " +
        "plan's: compare them with another runtime only at equal lengths (use a server that honours ignore_eos, " +
        "or read per-token figures rather than per-request ones)",
    );
  }
  if (m.counts.total > 0 && m.counts.ok === 0) out.push("no request succeeded");
  return out;
}
