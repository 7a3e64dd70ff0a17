/**
 * Executes a plan against one target. Open loop: request i leaves at its scheduled time whatever
 * happened before (the pacer thread releases it); with `max_concurrency` a due request waits for
 * a free slot and the wait is counted. Closed loop: a fixed number in flight, each completion
 * sends the next. Warmup requests run first, closed loop, and are traced but marked.
 *
 * Each trace goes to the sink the moment its request ends; the runner keeps only the requests in
 * flight and a small ring of recent TTFTs for live progress.
 */
import { BenchClient, type Target } from "./client.js";
import { createPacer, monotonicMs, type Pacer } from "./pacer.js";
import type { Plan } from "./plan.js";
import type { RequestTrace } from "./types.js";

export interface Progress {
  phase: "warmup" | "measure";
  done: number;
  total: number;
  inFlight: number;
  errors: number;
  elapsedS: number;
  /** Requests sent per second of the measured phase so far. */
  achievedRate: number;
  ttftP50Ms?: number;
  ttftP99Ms?: number;
}

export interface RunOptions {
  target: Target;
  plan: Plan;
  /** Receives every trace as its request ends. */
  onTrace: (trace: RequestTrace) => void;
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  /** Identifies requests to the server (`x-request-id: <prefix>-<index>`). */
  requestIdPrefix?: string;
  /** A request with no byte from the server for this long ends as an error (client.ts). */
  stallTimeoutMs?: number;
  /** The longest SSE line, and the largest non-streamed body, accepted (default 8 MiB). */
  maxReplyBytes?: number;
}

export interface RunSummary {
  /** True when the run was stopped before every request finished. */
  interrupted: boolean;
  sent: number;
  /** Planned requests never sent because the run was stopped. */
  notSent: number;
  /** Requests that waited for a max_concurrency slot past their scheduled time. */
  queued: number;
  /** Measured window: first measured send to last measured end, in trace time. */
  windowStartMs: number;
  windowEndMs: number;
  /** Offered rate of the schedule (requests over the schedule's span), when open loop. */
  offeredRate?: number;
  /** The stall timeout the requests ran under (absent in results written before it was recorded). */
  stallTimeoutMs?: number;
}

const RING = 2048;
const LEAD_MS = 20;

export async function runPlan(opts: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const client = new BenchClient(opts.target, t0, {
    ...(opts.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: opts.stallTimeoutMs }),
    ...(opts.maxReplyBytes === undefined ? {} : { maxReplyBytes: opts.maxReplyBytes }),
  });
  const idPrefix = opts.requestIdPrefix ?? "tf";
  const ring = new Float64Array(RING);
  let ringCount = 0;
  let done = 0;
  let errors = 0;
  let phase: Progress["phase"] = "warmup";
  let phaseStartMs = 0;
  let measuredSent = 0;
  let interrupted = false;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = 0;

  const record = (trace: RequestTrace) => {
    if (!trace.warmup) {
      done++;
      if (trace.outcome !== "ok") errors++;
      const first = trace.chunkMs[0];
      if (first !== undefined) ring[ringCount++ % RING] = first - trace.sendMs;
      if (trace.sendMs < windowStart) windowStart = trace.sendMs;
      const end = trace.endMs ?? trace.sendMs;
      if (end > windowEnd) windowEnd = end;
    }
    opts.onTrace(trace);
  };

  const send = (index: number, warmup: boolean, scheduledMs: number, onEnd: (t: RequestTrace) => void) => {
    const planned = opts.plan.request(index, warmup);
    const trace: RequestTrace = {
      index,
      warmup,
      scheduledMs,
      sendMs: 0,
      chunkMs: [],
      outcome: "incomplete",
      promptTokens: planned.promptTokens,
      maxTokens: planned.maxTokens,
    };
    client.send({ id: `${idPrefix}-${warmup ? "w" : ""}${index}`, body: planned.body, trace }, onEnd);
  };

  const progress = () => {
    if (!opts.onProgress) return;
    const elapsedS = (performance.now() - t0 - phaseStartMs) / 1000;
    const p: Progress = {
      phase,
      done,
      total: opts.plan.count,
      inFlight: client.inFlight,
      errors,
      elapsedS,
      achievedRate: elapsedS > 0 ? measuredSent / elapsedS : 0,
    };
    const n = Math.min(ringCount, RING);
    if (n > 0) {
      const sorted = ring.slice(0, n).sort();
      p.ttftP50Ms = sorted[Math.floor(0.5 * (n - 1))];
      p.ttftP99Ms = sorted[Math.floor(0.99 * (n - 1))];
    }
    opts.onProgress(p);
  };
  const ticker = setInterval(progress, opts.progressIntervalMs ?? 1000);

  let stopPacer: (() => void) | undefined;
  let releaseFn: (upTo: number) => void = () => {};
  let wake: (() => void) | undefined;
  const onAbort = () => {
    interrupted = true;
    stopPacer?.();
    client.abortAll("interrupted");
    wake?.();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) interrupted = true;

  let queued = 0;
  let notSent = 0;
  let offeredRate: number | undefined;
  try {
    // Warmup: closed loop, never timed into the result.
    const warmupConcurrency =
      opts.plan.mode.kind === "closed"
        ? opts.plan.mode.concurrency
        : Math.max(1, Math.min(opts.plan.workload.maxConcurrency ?? 8, 8));
    const warmupAt = opts.plan.warmupSchedule();
    if (!interrupted && warmupAt !== undefined) {
      // Open-loop workloads warm up at their own rate, so connections and server queues reach
      // the steady state the measured phase starts in.
      const pacer = await createPacer(warmupAt, (upTo) => releaseFn(upTo));
      await openLoop(warmupAt, pacer, true);
    } else if (!interrupted && (opts.plan.warmupRequests > 0 || opts.plan.warmupMs > 0)) {
      await closedLoop({
        concurrency: warmupConcurrency,
        count: opts.plan.warmupRequests > 0 ? opts.plan.warmupRequests : Number.POSITIVE_INFINITY,
        durationMs: opts.plan.warmupMs > 0 ? opts.plan.warmupMs : undefined,
        warmup: true,
      });
    }
    phase = "measure";
    phaseStartMs = performance.now() - t0;
    if (interrupted) {
      notSent = Number.isFinite(opts.plan.count) ? opts.plan.count : 0;
    } else if (opts.plan.mode.kind === "closed") {
      const r = await closedLoop({
        concurrency: opts.plan.mode.concurrency,
        count: opts.plan.count,
        durationMs: opts.plan.mode.durationMs,
        warmup: false,
      });
      notSent = r.notSent;
    } else {
      const { atMs, burst } = opts.plan.mode;
      const pacer =
        burst || atMs.length === 0 ? undefined : await createPacer(atMs, (upTo) => releaseFn(upTo));
      const r = await openLoop(atMs, pacer, false);
      queued = r.queued;
      notSent = r.notSent;
      const at = opts.plan.mode.atMs;
      if (!opts.plan.mode.burst && at.length > 1)
        offeredRate = (at.length - 1) / ((at[at.length - 1]! - at[0]!) / 1000);
    }
  } finally {
    clearInterval(ticker);
    opts.signal?.removeEventListener("abort", onAbort);
    progress();
    await client.close();
  }
  return {
    interrupted,
    sent: measuredSent,
    notSent,
    queued,
    windowStartMs: Number.isFinite(windowStart) ? windowStart : 0,
    windowEndMs: windowEnd,
    ...(offeredRate === undefined ? {} : { offeredRate }),
    stallTimeoutMs: client.stallTimeoutMs,
  };

  function closedLoop(o: { concurrency: number; count: number; durationMs?: number; warmup: boolean }) {
    return new Promise<{ notSent: number }>((resolve) => {
      const start = performance.now();
      let next = 0;
      let inFlight = 0;
      const canSend = () =>
        !interrupted &&
        next < o.count &&
        (o.durationMs === undefined || performance.now() - start < o.durationMs);
      const finish = () => resolve({ notSent: Number.isFinite(o.count) ? o.count - next : 0 });
      wake = () => {
        if (inFlight === 0) finish();
      };
      const launch = () => {
        const index = next++;
        inFlight++;
        if (!o.warmup) measuredSent++;
        send(index, o.warmup, performance.now() - t0, (trace) => {
          inFlight--;
          record(trace);
          if (canSend()) launch();
          else if (inFlight === 0) finish();
        });
      };
      while (inFlight < o.concurrency && canSend()) launch();
      if (inFlight === 0) finish();
    });
  }

  function openLoop(atMs: Float64Array, pacer: Pacer | undefined, warmup: boolean) {
    return new Promise<{ queued: number; notSent: number }>((resolve) => {
      const limit = opts.plan.workload.maxConcurrency ?? Number.POSITIVE_INFINITY;
      const startPerf = performance.now() + LEAD_MS;
      const startMono = monotonicMs() + LEAD_MS;
      const base = startPerf - t0;
      const waiting: number[] = [];
      let waitHead = 0;
      let next = 0;
      let inFlight = 0;
      let waitedCount = 0;
      const finishIfDone = () => {
        if ((next >= atMs.length || interrupted) && inFlight === 0) {
          resolve({ queued: waitedCount, notSent: atMs.length - measuredSentIn() });
        }
      };
      let sentHere = 0;
      const measuredSentIn = () => sentHere;
      const launch = (index: number) => {
        inFlight++;
        sentHere++;
        if (!warmup) measuredSent++;
        send(index, warmup, base + atMs[index]!, onEnd);
      };
      const onEnd = (trace: RequestTrace) => {
        inFlight--;
        record(trace);
        if (waitHead < waiting.length && !interrupted) launch(waiting[waitHead++]!);
        finishIfDone();
      };
      const release = (upTo: number) => {
        if (interrupted) return;
        while (next <= upTo && next < atMs.length) {
          const index = next++;
          if (inFlight < limit) launch(index);
          else {
            waiting.push(index);
            waitedCount++;
          }
        }
        pacer?.released(next);
        finishIfDone();
      };
      // Called whenever the client is awake: sends what is due without waiting for the pacer.
      const poll = () => {
        if (next >= atMs.length || interrupted) return;
        const t = performance.now() - startPerf;
        if (atMs[next]! > t) return;
        let j = next;
        while (j + 1 < atMs.length && atMs[j + 1]! <= t) j++;
        release(j);
      };
      wake = finishIfDone;
      if (pacer === undefined) {
        release(atMs.length - 1);
        return;
      }
      releaseFn = release;
      stopPacer = pacer.stop;
      client.onActivity = poll;
      if (interrupted) pacer.stop();
      pacer.start(startMono);
      pacer.finished.catch(() => {
        interrupted = true;
        finishIfDone();
      });
    });
  }
}
