/**
 * The simulated engine in virtual time: a list of arrivals (time, prompt tokens, output tokens)
 * goes through one or more replicas of the engine (engine.ts) with no sockets and no waiting, so a
 * run of thousands of requests takes milliseconds and gives the same numbers for the same seed.
 * Used to report a fit's error (replaying a measured run) and for capacity planning.
 *
 * Requests are routed round-robin over replicas, as the gateway does over a deployment's ready
 * replicas; each replica schedules independently.
 */
import { type Summary, summarize } from "../../bench/stats.js";
import { PerfEngine } from "./engine.js";
import type { PerfModel } from "./perf-model.js";

export interface SimArrival {
  atMs: number;
  promptTokens: number;
  outputTokens: number;
}

export interface SimRequestResult {
  /** First token − arrival. */
  ttftMs: number;
  /** Last token − arrival. */
  e2eMs: number;
  /** Gaps between consecutive tokens. */
  itlMs: number[];
}

export interface ReplayResult {
  requests: SimRequestResult[];
  /** Arrival of the first request to the last token of any, ms. */
  spanMs: number;
  /** Mean sequences in a step's batch, over all replicas' steps. */
  meanBatch: number;
  /** Most sequences left waiting by a step's admission (queued behind the batch or the KV cache), on any replica. */
  maxWaiting: number;
  steps: number;
}

export interface ReplayOptions {
  replicas?: number;
  seed?: number;
  /**
   * Closed loop: this many requests in flight per replica, each next one sent the moment one
   * completes (the arrivals' times are then ignored but for the first `closedLoop`, sent at 0).
   */
  closedLoop?: number;
}

/** Runs the arrivals (in any order) through `replicas` engines; results are in input order. */
export function replay(
  model: PerfModel,
  arrivals: readonly SimArrival[],
  opts: ReplayOptions = {},
): ReplayResult {
  const replicas = opts.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be an integer >= 1`);
  const closed = opts.closedLoop;
  if (closed !== undefined && (!Number.isInteger(closed) || closed < 1))
    throw new RangeError(`closedLoop must be an integer >= 1`);
  // Closed-loop arrival times are found as the replay goes; results are measured from them.
  const atMs = Float64Array.from(arrivals, (a) => a.atMs);
  const order = arrivals.map((_, i) => i).sort((a, b) => arrivals[a]!.atMs - arrivals[b]!.atMs || a - b);
  const results: SimRequestResult[] = arrivals.map(() => ({
    ttftMs: Number.NaN,
    e2eMs: Number.NaN,
    itlMs: [],
  }));
  let batchSum = 0;
  let steps = 0;
  let maxWaiting = 0;
  let lastMs = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < replicas; r++) {
    const mine: number[] = [];
    for (let k = r; k < order.length; k += replicas) mine.push(order[k]!);
    const engine = new PerfEngine<number>(model, ((opts.seed ?? 0) + r * 0x9e3779b9) >>> 0);
    const lastToken = new Float64Array(arrivals.length);
    let t = 0;
    let next = 0;
    // Closed loop: how many of `mine` may have been sent by now.
    let released = closed === undefined ? mine.length : Math.min(closed, mine.length);
    if (closed !== undefined) for (const i of mine) atMs[i] = 0;
    for (;;) {
      while (next < released && atMs[mine[next]!]! <= t) {
        const i = mine[next++]!;
        const a = arrivals[i]!;
        if (closed !== undefined) atMs[i] = t;
        engine.enqueue(i, a.promptTokens, a.outputTokens);
      }
      const ms = engine.beginStep();
      // Those left waiting once the step has admitted what fits: the queue.
      maxWaiting = Math.max(maxWaiting, engine.waitingCount);
      if (ms === undefined) {
        if (next >= released) break;
        t = Math.max(t, atMs[mine[next]!]!);
        continue;
      }
      t += ms;
      const emitted = engine.endStep();
      batchSum += emitted.length;
      steps++;
      for (const e of emitted) {
        const res = results[e.key]!;
        if (e.tokens === 1) res.ttftMs = t - atMs[e.key]!;
        else res.itlMs.push(t - lastToken[e.key]!);
        lastToken[e.key] = t;
        if (e.done) {
          res.e2eMs = t - atMs[e.key]!;
          if (t > lastMs) lastMs = t;
          if (closed !== undefined && released < mine.length) released++;
        }
      }
    }
  }
  const first = atMs.reduce((m, x) => Math.min(m, x), Number.POSITIVE_INFINITY);
  return {
    requests: results,
    spanMs: order.length > 0 ? lastMs - first : 0,
    meanBatch: steps > 0 ? batchSum / steps : 0,
    maxWaiting,
    steps,
  };
}

/** Latency summaries of a set of request results, in the harness's definitions (docs/metrics.md). */
export interface LatencySummaries {
  ttftMs?: Summary;
  /** (E2E − TTFT) / (tokens − 1), per request with two or more tokens. */
  tpotMs?: Summary;
  itlMs?: Summary;
  e2eMs?: Summary;
  /** Output tokens over the span from the first request's start to the last one's end. */
  outputTokensPerS?: number;
}

export function summarizeRequests(
  requests: ReadonlyArray<{ ttftMs: number; e2eMs: number; itlMs: ArrayLike<number>; outputTokens: number }>,
  spanMs: number,
): LatencySummaries {
  const ttft: number[] = [];
  const e2e: number[] = [];
  const tpot: number[] = [];
  const itl: number[] = [];
  let tokens = 0;
  for (const r of requests) {
    if (!Number.isFinite(r.ttftMs) || !Number.isFinite(r.e2eMs)) continue;
    ttft.push(r.ttftMs);
    e2e.push(r.e2eMs);
    tokens += r.outputTokens;
    if (r.outputTokens > 1) tpot.push((r.e2eMs - r.ttftMs) / (r.outputTokens - 1));
    for (let k = 0; k < r.itlMs.length; k++) itl.push(r.itlMs[k]!);
  }
  const out: LatencySummaries = {};
  const put = (key: "ttftMs" | "tpotMs" | "itlMs" | "e2eMs", v: number[]) => {
    const s = summarize(v);
    if (s !== undefined) out[key] = s;
  };
  put("ttftMs", ttft);
  put("tpotMs", tpot);
  put("itlMs", itl);
  put("e2eMs", e2e);
  if (spanMs > 0 && tokens > 0) out.outputTokensPerS = (tokens * 1000) / spanMs;
  return out;
}
