/**
 * The simulated engine in virtual time: a list of arrivals (time, prompt tokens, output tokens)
 * goes through one or more replicas of the engine (engine.ts) with no sockets and no waiting, so a
 * run of thousands of requests takes milliseconds and gives the same numbers for the same seed.
 * Used to report a fit's error (replaying a measured run) and for capacity planning.
 *
 * Requests are routed round-robin over replicas, as the gateway does over a deployment's ready
 * replicas; each replica schedules independently.
 */
import { aggregate } from "../bench/aggregate.js";
import type { WorkloadMetrics } from "../bench/metric-types.js";
import type { RequestTrace } from "../bench/types.js";
import { PerfEngine } from "../runtimes/sim/engine.js";
import type { PerfModel } from "../runtimes/sim/perf-model.js";

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
  /** When each request was sent: its arrival, or in a closed loop when a slot freed. */
  sentMs: Float64Array;
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
          if (closed !== undefined && released < mine.length) released++;
        }
      }
    }
  }
  return {
    requests: results,
    sentMs: atMs,
    meanBatch: steps > 0 ? batchSum / steps : 0,
    maxWaiting,
    steps,
  };
}

/**
 * The replayed requests as the harness would have traced them (sent at arrival, a content chunk
 * per token, usage as generated), so the harness's own aggregation (bench/aggregate.ts) gives
 * their TTFT, TPOT, ITL, E2E and throughput by the definitions of docs/metrics.md.
 */
export function replayTraces(arrivals: readonly SimArrival[], r: ReplayResult): RequestTrace[] {
  return r.requests.map((x, i) => {
    const a = arrivals[i]!;
    const sendMs = r.sentMs[i]!;
    const chunkMs = [sendMs + x.ttftMs];
    for (const gap of x.itlMs) chunkMs.push(chunkMs[chunkMs.length - 1]! + gap);
    return {
      index: i,
      warmup: false,
      scheduledMs: sendMs,
      sendMs,
      chunkMs,
      endMs: sendMs + x.e2eMs,
      status: 200,
      outcome: "ok",
      promptTokens: a.promptTokens,
      maxTokens: a.outputTokens,
      usage: { promptTokens: a.promptTokens, completionTokens: a.outputTokens },
    };
  });
}

/** The figures of a replay, aggregated as the harness aggregates a run. */
export function replayMetrics(arrivals: readonly SimArrival[], r: ReplayResult): WorkloadMetrics {
  return aggregate(replayTraces(arrivals, r), { slo: {} });
}
