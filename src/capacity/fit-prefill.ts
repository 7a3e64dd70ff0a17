/**
 * The prefill stage of a fit: the requests whose first chunks arrive together were prefilled by
 * one step. That step began when the one before it ended (the last chunk of any request before
 * them) or, if the engine was idle, when the last of them was sent; its duration less the decode
 * part (one decode step at the number of other requests that got a token with them) is
 * `overhead + Σ prompts / rate`. Steps are binned by prompt tokens and the bins' medians fitted by
 * least squares. Measuring from the step's start, not from the send, keeps queueing out.
 */
import { type DecodeCurve, decodeStepMs } from "../runtimes/sim/perf-model.js";
import { countAtMost, countBelow, median, weightedLine } from "./fit-math.js";
import { type FitReport, promptOf, type TraceLine } from "./fit-types.js";

/** Prefill rate and overhead from the steps that prefilled. */
export function fitPrefill(
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
