/**
 * The decode stage of a fit: every gap between consecutive content chunks (divided by the chunk's
 * tokens when the server reported them) is a decode step at the batch size the trace shows at that
 * moment (how many requests were between their first and last chunk). The median gap per batch
 * size is fitted by weighted least squares to `step = base + per_seq × batch`. Medians keep the
 * rarer steps that also prefilled a newcomer from pulling the line up.
 */
import type { RequestTrace } from "../bench/types.js";
import { type DecodeCurve, decodeStepMs } from "../runtimes/sim/perf-model.js";
import { countAtMost, countBelow, median, weightedLine } from "./fit-math.js";
import { FitError, type FitReport, type TraceLine } from "./fit-types.js";

/** Decode step time by batch, from the token gaps. */
export function fitDecode(fitGroups: TraceLine[][]): {
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

function push(m: Map<number, number[]>, k: number, v: number): void {
  const arr = m.get(k);
  if (arr) arr.push(v);
  else m.set(k, [v]);
}
