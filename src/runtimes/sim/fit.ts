/**
 * Fits the simulated engine's performance model to a measured run (the harness's per-request
 * traces) and reports how well the fitted model reproduces that run.
 *
 * - Decode: every gap between consecutive content chunks (divided by the chunk's tokens when the
 *   server reported them) is a decode step at the batch size the trace shows at that moment (how
 *   many requests were between their first and last chunk). The median gap per batch size is
 *   fitted by weighted least squares to `step = base + per_seq × batch`. Medians keep the rarer
 *   steps that also prefilled a newcomer from pulling the line up.
 * - Prefill: the requests whose first chunks arrive together were prefilled by one step. That
 *   step began when the one before it ended (the last chunk of any request before them) or, if
 *   the engine was idle, when the last of them was sent; its duration less the decode part (one
 *   decode step at the number of other requests that got a token with them) is
 *   `overhead + Σ prompts / rate`. Steps are binned by prompt tokens and the bins' medians fitted
 *   by least squares. Measuring from the step's start, not from the send, keeps queueing out.
 * - `max_batch` and the KV-cache capacity cannot be read off client traces: they come from the
 *   caller (the target's /health, or flags).
 *
 * The error: each workload's requests are replayed through the fitted model at their measured
 * send times (replay.ts), or as a closed loop of the same concurrency, and the simulated TTFT,
 * TPOT, E2E and throughput compared with the measured ones.
 */
import { aggregate, type WorkloadMetrics } from "../../bench/aggregate.js";
import { percentile } from "../../bench/stats.js";
import type { RequestTrace } from "../../bench/types.js";
import { type DecodeCurve, decodeStepMs, type PerfModel } from "./perf-model.js";
import { replay, replayMetrics, type SimArrival } from "./replay.js";

/** A line of `requests.jsonl`: a trace with the workload and runtime it belongs to. */
export type TraceLine = RequestTrace & { workload: string; runtime: string };

export interface FitOptions {
  maxBatch: number;
  kvCacheTokens: number;
  /** Fit on these workloads only; the others are reported as held out. Default: all. */
  fitWorkloads?: readonly string[];
  /**
   * Closed-loop workloads by name, with their concurrency: replayed as closed loops (each request
   * sent when one completes), so an error in one request's time does not pile onto the next send.
   * Any other workload is replayed at its measured send times.
   */
  closedLoop?: Readonly<Record<string, number>>;
  /** Tokens a step of the engine processes at most (llama.cpp's batch size), when known. */
  maxBatchedTokens?: number;
  /** Refine the prefill rate and overhead by replaying the fitted workloads. Default true. */
  refine?: boolean;
}

/** One compared figure: measured, simulated, and (simulated − measured) / measured. */
export interface FitFigure {
  metric: string;
  measured: number;
  simulated: number;
  relError: number;
}

export interface WorkloadFitError {
  workload: string;
  /** True when the workload was not used to fit the model. */
  heldOut: boolean;
  requests: number;
  figures: FitFigure[];
  /** Mean of |relError| over the figures. */
  meanAbsRelError: number;
}

export interface FitReport {
  model: PerfModel;
  runtime: string;
  fittedOn: string[];
  decode: {
    samples: number;
    byBatch: Array<{ batch: number; samples: number; medianMs: number }>;
    note?: string;
  };
  prefill: {
    /** Steps that prefilled (each one sample: its prompt tokens, its time less the decode part). */
    steps: number;
    /** By prompt tokens prefilled in the step. */
    bins: Array<{ promptTokens: number; samples: number; medianMs: number }>;
    /** The estimate from the steps alone, before the replay refined it. */
    direct: { tokensPerS: number; overheadMs: number };
    /** Set when the prompts' lengths were too alike to separate the overhead from the rate. */
    note?: string;
  };
  errors: WorkloadFitError[];
  /** Mean |relError| over every figure of the workloads fitted on, and of those held out. */
  meanAbsRelError: { fitted?: number; heldOut?: number };
}

export class FitError extends Error {}

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

export function fitPerfModel(lines: readonly TraceLine[], opts: FitOptions): FitReport {
  const ok = lines.filter((t) => t.outcome === "ok" && !t.warmup && t.chunkMs.length > 0);
  if (ok.length === 0) throw new FitError("no completed, streamed, measured requests to fit on");
  const runtimes = [...new Set(ok.map((t) => t.runtime))];
  if (runtimes.length !== 1)
    throw new FitError(`the traces hold several runtimes (${runtimes.join(", ")}): choose one`);
  const groups = groupBy(ok, (t) => t.workload);
  const all = [...groups.keys()];
  const fittedOn = opts.fitWorkloads ? [...opts.fitWorkloads] : all;
  for (const w of fittedOn)
    if (!groups.has(w))
      throw new FitError(`workload ${w} has no completed requests (have: ${all.join(", ")})`);
  const fitGroups = fittedOn.map((w) => groups.get(w)!);

  const decodeFit = fitDecode(fitGroups);
  const { decode } = decodeFit;
  const prefillFit = fitPrefill(fitGroups, decode);
  let model: PerfModel = {
    prefillTokensPerS: 1000 / prefillFit.line.slope,
    prefillOverheadMs: prefillFit.line.intercept,
    decode,
    maxBatch: opts.maxBatch,
    kvCacheTokens: opts.kvCacheTokens,
    ...(opts.maxBatchedTokens === undefined ? {} : { maxBatchedTokens: opts.maxBatchedTokens }),
    jitter: 0,
  };

  const prepared = new Map(
    all.map((w) => [w, prepare(w, groups.get(w)!, opts.kvCacheTokens, opts.closedLoop?.[w])] as const),
  );
  const direct = { tokensPerS: model.prefillTokensPerS, overheadMs: model.prefillOverheadMs };
  if (opts.refine !== false)
    model = refinePrefill(
      model,
      fittedOn.map((w) => prepared.get(w)!),
    );
  const errors = all.map((w) => workloadError(model, prepared.get(w)!, !fittedOn.includes(w)));
  const meanOf = (e: WorkloadFitError[]) => {
    const v = e.flatMap((x) => x.figures.map((f) => Math.abs(f.relError)));
    return v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
  };
  const fitted = meanOf(errors.filter((e) => !e.heldOut));
  const heldOut = meanOf(errors.filter((e) => e.heldOut));
  return {
    model,
    runtime: runtimes[0]!,
    fittedOn,
    decode: decodeFit.report,
    prefill: { ...prefillFit.report, direct },
    errors,
    meanAbsRelError: {
      ...(fitted === undefined ? {} : { fitted }),
      ...(heldOut === undefined ? {} : { heldOut }),
    },
  };
}

/** Decode step time by batch, from the token gaps (the method is in the header). */
function fitDecode(fitGroups: TraceLine[][]): {
  decode: DecodeCurve & { kind: "linear" };
  report: FitReport["decode"];
} {
  // Decode: per-token gaps by the decoding batch of their moment, leaving out the gaps during
  // which another request was between its send and its first token: a step that prefills is not
  // a decode step. If that leaves too few, every gap is used (and the note says so).
  const gapsByBatch = new Map<number, number[]>();
  const allGapsByBatch = new Map<number, number[]>();
  let decodeSamples = 0;
  let allSamples = 0;
  for (const g of fitGroups) {
    const active = decodingCounter(g);
    const prefilling = overlapCounter(g);
    for (const t of g) {
      for (let k = 1; k < t.chunkMs.length; k++) {
        const from = t.chunkMs[k - 1]!;
        const to = t.chunkMs[k]!;
        const tokens = t.chunkTokens?.[k] ?? 1;
        if (!(to - from >= 0) || tokens < 1) continue;
        const b = Math.max(1, active((to + from) / 2));
        push(allGapsByBatch, b, (to - from) / tokens);
        allSamples++;
        // The request's own prefill ended at its first chunk, before this gap: it never counts.
        if (prefilling(from, to) > 0) continue;
        push(gapsByBatch, b, (to - from) / tokens);
        decodeSamples++;
      }
    }
  }
  if (allSamples === 0)
    throw new FitError("no request produced two or more chunks: decode speed cannot be fitted");
  let decodeNote: string | undefined;
  if (decodeSamples < Math.min(30, allSamples)) {
    decodeNote = `only ${decodeSamples} token gaps had no prefill beside them: fitted on all ${allSamples}`;
    gapsByBatch.clear();
    for (const [b, v] of allGapsByBatch) gapsByBatch.set(b, v);
    decodeSamples = allSamples;
  }
  const byBatch = [...gapsByBatch.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([batch, v]) => ({ batch, samples: v.length, medianMs: median(v) }));
  const line = weightedLine(byBatch.map((p) => ({ x: p.batch, y: p.medianMs, w: p.samples })));
  const decode = { kind: "linear" as const, baseMs: line.intercept, perSeqMs: line.slope };
  if (decodeStepMs(decode, 1) <= 0) throw new FitError("the measured decode steps are all zero");
  return {
    decode,
    report: { samples: decodeSamples, byBatch, ...(decodeNote ? { note: decodeNote } : {}) },
  };
}

/** Prefill rate and overhead from the steps that prefilled (the method is in the header). */
function fitPrefill(
  fitGroups: TraceLine[][],
  decode: DecodeCurve,
): { line: { intercept: number; slope: number }; report: Omit<FitReport["prefill"], "direct"> } {
  // Prefill: one sample per step that prefilled. Its first chunks arrive together; it began when
  // the step before it ended (the last chunk of any request before them) or, on an idle engine,
  // when the last of its requests was sent. Its length less the decode part is
  // overhead + (the prompts it prefilled) / rate.
  const tol = Math.min(2, 0.2 * decodeStepMs(decode, 1));
  const prefill: Array<{ p: number; y: number }> = [];
  for (const g of fitGroups) {
    const chunks = Float64Array.from(g.flatMap((t) => t.chunkMs)).sort();
    const later = Float64Array.from(g.flatMap((t) => t.chunkMs.slice(1))).sort();
    const byFirst = [...g].sort((a, b) => a.chunkMs[0]! - b.chunkMs[0]!);
    for (let i = 0; i < byFirst.length; ) {
      const t0 = byFirst[i]!.chunkMs[0]!;
      let j = i;
      let prompts = 0;
      let lastSend = Number.NEGATIVE_INFINITY;
      while (j < byFirst.length && byFirst[j]!.chunkMs[0]! - t0 <= tol) {
        prompts += promptOf(byFirst[j]!);
        lastSend = Math.max(lastSend, byFirst[j]!.sendMs);
        j++;
      }
      const t1 = byFirst[j - 1]!.chunkMs[0]!;
      i = j;
      const before = countBelow(chunks, t0 - tol);
      const start = Math.max(lastSend, before > 0 ? chunks[before - 1]! : Number.NEGATIVE_INFINITY);
      const decoded = countAtMost(later, t1 + tol) - countBelow(later, t0 - tol);
      prefill.push({ p: prompts, y: t0 - start - (decoded > 0 ? decodeStepMs(decode, decoded) : 0) });
    }
  }
  const bins = binByPrompt(prefill, 16);
  let prefillLine = weightedLine(bins.map((b) => ({ x: b.promptTokens, y: b.medianMs, w: b.samples })));
  let note: string | undefined;
  const pMin = bins[0]!.promptTokens;
  const pMax = bins[bins.length - 1]!.promptTokens;
  if (bins.length < 2 || pMax < pMin * 1.25 || prefillLine.slope <= 0) {
    const mp = median(prefill.map((s) => s.p));
    const my = Math.max(median(prefill.map((s) => s.y)), 1e-3);
    prefillLine = { intercept: 0, slope: my / Math.max(mp, 1) };
    note = "prompt lengths too alike to separate a fixed overhead from the rate: overhead set to 0";
  }
  return { line: prefillLine, report: { steps: prefill.length, bins, ...(note ? { note } : {}) } };
}

/** A workload's requests as the replay takes them, and the measured figures they are judged by. */
interface Prepared {
  workload: string;
  arrivals: SimArrival[];
  measured: WorkloadMetrics;
  closedLoop: number | undefined;
}

function prepare(
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
function workloadError(model: PerfModel, p: Prepared, heldOut: boolean): WorkloadFitError {
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
function refinePrefill(model: PerfModel, fitted: Prepared[]): PerfModel {
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

function promptOf(t: RequestTrace): number {
  return t.usage?.promptTokens ?? t.promptTokens;
}

function outputOf(t: RequestTrace): number {
  if (t.usage) return Math.max(1, t.usage.completionTokens);
  if (t.chunkTokens)
    return Math.max(
      1,
      t.chunkTokens.reduce((a, b) => a + b, 0),
    );
  return Math.max(1, t.chunkMs.length);
}

/** Counts requests between their first and last chunk at time x. */
function decodingCounter(g: readonly RequestTrace[]): (x: number) => number {
  const starts = Float64Array.from(g.map((t) => t.chunkMs[0]!)).sort();
  const ends = Float64Array.from(g.map((t) => t.chunkMs[t.chunkMs.length - 1]!)).sort();
  return (x) => countAtMost(starts, x) - countBelow(ends, x);
}

/** Counts requests whose prefill interval (send, first chunk) overlaps (from, to). */
function overlapCounter(g: readonly RequestTrace[]): (from: number, to: number) => number {
  const starts = Float64Array.from(g.map((t) => t.sendMs)).sort();
  const ends = Float64Array.from(g.map((t) => t.chunkMs[0]!)).sort();
  // Overlapping = started before `to` and not ended by `from` (the first chunk at `to` itself,
  // written by the same step, counts: that step prefilled).
  return (from, to) => countBelow(starts, to) - countAtMost(ends, from);
}

function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Up to `n` bins of equal count by prompt length; each bin's median length and median y. */
function binByPrompt(samples: Array<{ p: number; y: number }>, n: number) {
  const sorted = [...samples].sort((a, b) => a.p - b.p);
  const out: Array<{ promptTokens: number; samples: number; medianMs: number }> = [];
  const size = Math.max(5, Math.ceil(sorted.length / n));
  for (let i = 0; i < sorted.length; i += size) {
    const bin = sorted.slice(i, i + size);
    const binMedianP = median(bin.map((s) => s.p));
    // Bins of one length merge into the previous one, so a line is fitted through distinct x only.
    const prev = out[out.length - 1];
    if (prev && prev.promptTokens === binMedianP) continue;
    out.push({ promptTokens: binMedianP, samples: bin.length, medianMs: median(bin.map((s) => s.y)) });
  }
  return out;
}

/**
 * Weighted least squares `y = intercept + slope·x`, constrained to intercept ≥ 0 and slope ≥ 0
 * (a negative step time or a batch that speeds each sequence up is not a model of an engine).
 */
export function weightedLine(points: Array<{ x: number; y: number; w: number }>): {
  intercept: number;
  slope: number;
} {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sw += p.w;
    sx += p.w * p.x;
    sy += p.w * p.y;
  }
  const mx = sx / sw;
  const my = sy / sw;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += p.w * (p.x - mx) ** 2;
    sxy += p.w * (p.x - mx) * (p.y - my);
  }
  let slope = sxx > 0 ? sxy / sxx : 0;
  let intercept = my - slope * mx;
  if (slope < 0) {
    slope = 0;
    intercept = my;
  } else if (intercept < 0) {
    // Through the origin.
    let num = 0;
    let den = 0;
    for (const p of points) {
      num += p.w * p.x * p.y;
      den += p.w * p.x * p.x;
    }
    intercept = 0;
    slope = den > 0 ? num / den : 0;
  }
  return { intercept: Math.max(intercept, 0), slope };
}

function median(v: number[]): number {
  return percentile(Float64Array.from(v).sort(), 50) ?? Number.NaN;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const arr = m.get(k);
    if (arr) arr.push(it);
    else m.set(k, [it]);
  }
  return m;
}

function push(m: Map<number, number[]>, k: number, v: number): void {
  const arr = m.get(k);
  if (arr) arr.push(v);
  else m.set(k, [v]);
}
