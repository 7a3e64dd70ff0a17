/**
 * The peak figures of a workload: the highest output token rate over 1-second bins of the
 * measured window, from the arrival of every content chunk of ok requests, and the most requests
 * in flight at once.
 */
import { Float32Buffer, Float64Buffer } from "./stats.js";

/**
 * Arrival of every content chunk of ok requests, for the peak output rate. Token counts are kept
 * as runs of equal values (chunk index where a run starts, tokens per chunk), which is one run in
 * the common case of one token per chunk.
 */
export class OutputTimeline {
  /** Chunk arrivals as offsets from `chunkRef` (the first chunk seen), in float32. */
  private readonly chunkAt = new Float32Buffer(1024);
  private chunkRef: number | undefined;
  private readonly runStart = new Float64Buffer(16);
  private readonly runTokens = new Float64Buffer(16);
  private lastRunTokens = Number.NaN;

  /**
   * Records the chunks of one ok request with their tokens: per chunk when the server reported
   * them, else its completion tokens spread evenly. False when neither is known (left out).
   */
  addRequest(
    chunks: readonly number[],
    chunkTokens: readonly number[] | undefined,
    completionTokens: number | undefined,
  ): boolean {
    const n = chunks.length;
    if (chunkTokens !== undefined && chunkTokens.length === n) {
      for (let i = 0; i < n; i++) this.push(chunks[i]!, chunkTokens[i]!);
    } else if (completionTokens !== undefined && n > 0) {
      const each = completionTokens / n;
      for (let i = 0; i < n; i++) this.push(chunks[i]!, each);
    } else return false;
    return true;
  }

  private push(atMs: number, tokens: number): void {
    if (tokens !== this.lastRunTokens) {
      this.runStart.push(this.chunkAt.length);
      this.runTokens.push(tokens);
      this.lastRunTokens = tokens;
    }
    this.chunkRef ??= atMs;
    this.chunkAt.push(atMs - this.chunkRef);
  }

  /** Max over 1-second bins [start + k s, start + (k+1) s) of the output tokens whose chunk arrived in it. */
  peak(startMs: number, endMs: number): number | undefined {
    const n = this.chunkAt.length;
    if (n === 0 || !(endMs >= startMs)) return undefined;
    const bins = new Float64Array(Math.max(1, Math.ceil((endMs - startMs) / 1000)));
    const at = this.chunkAt.view();
    const ref = this.chunkRef ?? 0;
    const starts = this.runStart.view();
    const tokens = this.runTokens.view();
    for (let r = 0; r < starts.length; r++) {
      const runEnd = r + 1 < starts.length ? starts[r + 1]! : n;
      const tok = tokens[r]!;
      for (let i = starts[r]!; i < runEnd; i++) {
        const t = at[i]! + ref;
        if (t < startMs || t > endMs) continue;
        const b = Math.min(bins.length - 1, Math.floor((t - startMs) / 1000));
        bins[b]! += tok;
      }
    }
    let max = 0;
    for (let i = 0; i < bins.length; i++) if (bins[i]! > max) max = bins[i]!;
    return max;
  }
}

/**
 * Sweep over half-open [send, end) intervals; an end at the same instant as a send goes first.
 * Sorts both arrays in place.
 */
export function peakConcurrency(sends: Float64Array, ends: Float64Array): number | undefined {
  const n = sends.length;
  if (n === 0) return undefined;
  sends.sort();
  ends.sort();
  let i = 0;
  let j = 0;
  let cur = 0;
  let peak = 0;
  while (i < n) {
    if (ends[j]! <= sends[i]!) {
      cur--;
      j++;
    } else {
      cur++;
      i++;
      if (cur > peak) peak = cur;
    }
  }
  return peak;
}
