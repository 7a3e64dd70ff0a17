/**
 * What happened in each second of one workload on one runtime, from its traces: requests sent
 * (the achieved rate), completed and failed, and the mean number in flight. Memory is one slot
 * per second of the run, whatever the number of requests.
 */
import type { RequestTrace } from "../bench/types.js";

/** Points per time series in the report: longer runs are merged into wider bins. */
export const MAX_TIMELINE_POINTS = 600;
/** Seconds after the origin beyond which a timestamp is clamped (about 11 days). */
const MAX_SECONDS = 1_000_000;

/** Per-bin series; rates are per second even when a bin is wider than one second. */
export interface TimelineSeries {
  /** Width of a bin in seconds. */
  binS: number;
  /** Start of each bin, in seconds from the origin (the first non-warmup send). */
  t: number[];
  /** Requests sent per second (by send time): the achieved request rate. */
  sent: number[];
  /** Ok requests completed per second (by end time). */
  completed: number[];
  /** Errored or incomplete requests per second (by end time, else last chunk, else send). */
  failed: number[];
  /** Mean requests in flight over the bin (time-weighted over [send, end)). */
  inFlight: number[];
}

class Bins {
  private buf = new Float64Array(64);
  length = 0;

  add(i: number, v: number): void {
    if (i >= this.buf.length) {
      const grown = new Float64Array(Math.max(i + 1, this.buf.length * 2));
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[i]! += v;
    if (i >= this.length) this.length = i + 1;
  }

  get(i: number): number {
    return i < this.buf.length ? this.buf[i]! : 0;
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Accumulates non-warmup traces one at a time, relative to `originMs`. */
export class Timeline {
  private readonly sent = new Bins();
  private readonly completed = new Bins();
  private readonly failed = new Bins();
  /** Milliseconds of [send, end) intervals falling in each second. */
  private readonly busyMs = new Bins();
  private requests = 0;

  constructor(private readonly originMs: number) {}

  private bin(ms: number): number {
    return Math.min(MAX_SECONDS - 1, Math.max(0, Math.floor(ms / 1000)));
  }

  add(t: RequestTrace): void {
    if (t.warmup) return;
    this.requests++;
    const send = Math.max(0, t.sendMs - this.originMs);
    const lastChunk = t.chunkMs.length > 0 ? t.chunkMs[t.chunkMs.length - 1] : undefined;
    const end = Math.max(send, (t.endMs ?? lastChunk ?? t.sendMs) - this.originMs);
    this.sent.add(this.bin(send), 1);
    (t.outcome === "ok" ? this.completed : this.failed).add(this.bin(end), 1);
    const last = this.bin(end);
    for (let b = this.bin(send); b <= last; b++) {
      const overlap = Math.min(end, (b + 1) * 1000) - Math.max(send, b * 1000);
      if (overlap > 0) this.busyMs.add(b, overlap);
    }
  }

  /** The series, merged into bins of ⌈seconds / maxPoints⌉ s; undefined with no request. */
  finish(maxPoints = MAX_TIMELINE_POINTS): TimelineSeries | undefined {
    if (this.requests === 0) return undefined;
    const seconds = Math.max(this.sent.length, this.completed.length, this.failed.length, this.busyMs.length);
    const binS = Math.max(1, Math.ceil(seconds / maxPoints));
    const out: TimelineSeries = { binS, t: [], sent: [], completed: [], failed: [], inFlight: [] };
    for (let start = 0; start < seconds; start += binS) {
      let sent = 0;
      let completed = 0;
      let failed = 0;
      let busy = 0;
      for (let s = start; s < start + binS; s++) {
        sent += this.sent.get(s);
        completed += this.completed.get(s);
        failed += this.failed.get(s);
        busy += this.busyMs.get(s);
      }
      out.t.push(start);
      out.sent.push(round3(sent / binS));
      out.completed.push(round3(completed / binS));
      out.failed.push(round3(failed / binS));
      out.inFlight.push(round3(busy / (1000 * binS)));
    }
    return out;
  }
}
