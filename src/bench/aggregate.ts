/**
 * Reduces the per-request traces of one workload on one runtime to its metrics (their definitions
 * and conventions are in metric-types.ts), in one pass over the traces (an iterable or async
 * iterable, so a JSONL file of 100k traces can stream through) collecting into typed arrays. Cost
 * is priced by cost.ts and the notes on the figures are written by warnings.ts; failures are
 * sampled in aggregate-errors.ts, goodput counted in aggregate-goodput.ts, the peak figures kept in
 * aggregate-peaks.ts and token usage compared in aggregate-tokens.ts.
 */
import { ErrorSampler } from "./aggregate-errors.js";
import { GoodputCounter } from "./aggregate-goodput.js";
import { OutputTimeline, peakConcurrency } from "./aggregate-peaks.js";
import { countMismatch, emptyMismatch, outputLengths } from "./aggregate-tokens.js";
import { costMetrics } from "./cost.js";
import type { WorkloadMetrics } from "./metric-types.js";
import { Float32Buffer, Float64Buffer, summarize } from "./stats.js";
import type { CostProfile, RequestTrace, Slo } from "./types.js";
import { metricWarnings, scheduleWarnings, sendRate } from "./warnings.js";

export interface AggregateContext {
  /** Start of the measured window; default the first non-warmup send. */
  windowStartMs?: number;
  /** End of the measured window; default the last non-warmup end (last chunk or send when no end). */
  windowEndMs?: number;
  /** The workload's SLOs; goodput is reported when any is set. */
  slo: Slo;
  /** Hardware cost; cost per 1M tokens is reported when given. */
  cost?: CostProfile;
  /**
   * The offered request rate, passed through to the result. Given only for a run with a schedule
   * (an open loop at a finite rate): its presence is what lets schedule warnings fire.
   */
  offeredQps?: number;
  /** False when the server refused `ignore_eos` and the requests went without it (default true). */
  ignoreEosSent?: boolean;
  /** Where planned prompt token counts came from (e.g. "server-tokenize"), passed through. */
  tokenSource?: string;
  /** Requests that waited for a free slot under `maxConcurrency` (the runner counts them). */
  queuedRequests?: number;
}

/** Accumulates traces one at a time; `finish` computes the metrics. */
export class Aggregator {
  private readonly ctx: AggregateContext;

  private warmup = 0;
  private total = 0;
  private ok = 0;
  private errored = 0;
  private incomplete = 0;
  private readonly errors = new ErrorSampler();

  private minSend = Number.POSITIVE_INFINITY;
  private maxEnd = Number.NEGATIVE_INFINITY;

  private readonly ttft = new Float64Buffer();
  private readonly ttftSched = new Float64Buffer();
  private readonly ttfot = new Float64Buffer();
  private readonly reasoningSeen = { requests: 0, chunks: 0, tokens: 0, tokensReported: 0 };
  private readonly e2e = new Float64Buffer();
  private readonly e2eSched = new Float64Buffer();
  private readonly tpot = new Float64Buffer();
  /** Millions of values in a long run: float32 keeps every gap to well under a microsecond. */
  private readonly itl = new Float32Buffer();
  private readonly lag = new Float64Buffer();
  /** Scheduled and actual send times of every measured request, for the achieved rate. */
  private readonly scheduled = new Float64Buffer();
  private readonly sent = new Float64Buffer();
  /** Send and end of ok requests with an end, for peak concurrency. */
  private readonly okSend = new Float64Buffer();
  private readonly okEnd = new Float64Buffer();
  /** Content chunks of ok requests, for the peak output rate. */
  private readonly output = new OutputTimeline();

  private readonly excluded = { ttft: 0, e2e: 0, tpot: 0, itl: 0, tokensPerChunk: 0, peakOutputTokens: 0 };
  private tpcTokens = 0;
  private tpcChunks = 0;
  private inputTokens = 0;
  private outputTokens = 0;
  private usageSeen = 0;
  private usageMissing = 0;
  private readonly goodput: GoodputCounter;
  private readonly mismatch = emptyMismatch();

  constructor(ctx: AggregateContext) {
    this.ctx = ctx;
    this.goodput = new GoodputCounter(ctx.slo);
  }

  add(t: RequestTrace): void {
    if (t.warmup) {
      this.warmup++;
      return;
    }
    this.total++;
    const chunks = t.chunkMs;
    const nChunks = chunks.length;
    const first = nChunks > 0 ? chunks[0]! : undefined;
    const last = nChunks > 0 ? chunks[nChunks - 1]! : undefined;

    if (t.sendMs < this.minSend) this.minSend = t.sendMs;
    const end = t.endMs ?? last ?? t.sendMs;
    if (end > this.maxEnd) this.maxEnd = end;
    this.lag.push(t.sendMs - t.scheduledMs);
    this.scheduled.push(t.scheduledMs);
    this.sent.push(t.sendMs);

    const usage = t.usage;
    if (usage !== undefined) countMismatch(this.mismatch, t, usage);

    if (t.outcome !== "ok") {
      if (t.outcome === "error") this.errored++;
      else this.incomplete++;
      this.errors.add(t);
      return;
    }
    this.ok++;

    let ttft: number | undefined;
    if (first !== undefined) {
      ttft = first - t.sendMs;
      this.ttft.push(ttft);
      this.ttftSched.push(first - t.scheduledMs);
    } else this.excluded.ttft++;
    if (t.reasoningChunks !== undefined && t.reasoningChunks > 0) {
      this.reasoningSeen.requests++;
      this.reasoningSeen.chunks += t.reasoningChunks;
      if (t.firstOutputMs !== undefined) this.ttfot.push(t.firstOutputMs - t.sendMs);
    } else if (ttft !== undefined) this.ttfot.push(ttft);
    if (usage?.reasoningTokens !== undefined) {
      this.reasoningSeen.tokensReported++;
      this.reasoningSeen.tokens += usage.reasoningTokens;
    }

    let e2e: number | undefined;
    if (t.endMs !== undefined) {
      e2e = t.endMs - t.sendMs;
      this.e2e.push(e2e);
      this.e2eSched.push(t.endMs - t.scheduledMs);
      this.okSend.push(t.sendMs);
      this.okEnd.push(t.endMs);
    } else this.excluded.e2e++;

    if (usage !== undefined) {
      this.usageSeen++;
      this.inputTokens += usage.promptTokens;
      this.outputTokens += usage.completionTokens;
    } else this.usageMissing++;

    let tpot: number | undefined;
    if (ttft !== undefined && e2e !== undefined && usage !== undefined && usage.completionTokens >= 2) {
      tpot = (e2e - ttft) / (usage.completionTokens - 1);
      this.tpot.push(tpot);
    } else this.excluded.tpot++;

    if (nChunks >= 2) {
      for (let i = 1; i < nChunks; i++) this.itl.push(chunks[i]! - chunks[i - 1]!);
    } else this.excluded.itl++;

    if (usage !== undefined && nChunks > 0) {
      this.tpcTokens += usage.completionTokens;
      this.tpcChunks += nChunks;
    } else this.excluded.tokensPerChunk++;

    if (!this.output.addRequest(chunks, t.chunkTokens, usage?.completionTokens)) {
      this.excluded.peakOutputTokens += nChunks;
    }

    this.goodput.add(ttft, tpot, e2e);
  }

  finish(): WorkloadMetrics {
    const ctx = this.ctx;
    const startMs = ctx.windowStartMs ?? (this.total > 0 ? this.minSend : undefined);
    const endMs = ctx.windowEndMs ?? (this.total > 0 ? this.maxEnd : undefined);
    const window = startMs !== undefined && endMs !== undefined ? { startMs, endMs } : undefined;
    const durationS = window !== undefined ? (window.endMs - window.startMs) / 1000 : undefined;
    const perS = (n: number | undefined): number | undefined =>
      n !== undefined && durationS !== undefined && durationS > 0 ? n / durationS : undefined;

    const tokens: WorkloadMetrics["tokens"] = { usageMissing: this.usageMissing };
    if (this.usageSeen > 0) {
      tokens.input = this.inputTokens;
      tokens.output = this.outputTokens;
    }
    const inputTokenThroughput = perS(tokens.input);
    const outputTokenThroughput = perS(tokens.output);
    const totalTokenThroughput =
      tokens.input !== undefined && tokens.output !== undefined
        ? perS(tokens.input + tokens.output)
        : undefined;

    const clientLagMs = summarize(this.lag.view());
    const queued = ctx.queuedRequests;
    const ttftMs = summarize(this.ttft.view());
    const ttftFromScheduledMs = summarize(this.ttftSched.view());
    // Only a run with a schedule (an open loop at a finite rate) has a rate to fall short of.
    const rate = ctx.offeredQps === undefined ? undefined : sendRate(this.scheduled.view(), this.sent.view());
    const schedule = scheduleWarnings({
      rate,
      queued,
      clientLagMs,
      ttftMs,
      ttftFromScheduledMs,
      // summarize sorted it in place.
      ttftSorted: this.ttft.view(),
    });
    const lagMessage = schedule.length > 0 ? schedule.join("; ") : undefined;

    const m: WorkloadMetrics = {
      warmupRequests: this.warmup,
      counts: { total: this.total, ok: this.ok, errored: this.errored, incomplete: this.incomplete },
      errorSamples: this.errors.list(),
      window,
      durationS,
      offeredQps: ctx.offeredQps,
      tokenSource: ctx.tokenSource,
      ttftMs,
      ttftFromScheduledMs,
      e2eMs: summarize(this.e2e.view()),
      e2eFromScheduledMs: summarize(this.e2eSched.view()),
      tpotMs: summarize(this.tpot.view()),
      itlMs: summarize(this.itl.view()),
      tokensPerChunk: this.tpcChunks > 0 ? this.tpcTokens / this.tpcChunks : undefined,
      clientLagMs,
      excluded: { ...this.excluded },
      tokens,
      requestThroughput: perS(this.ok),
      inputTokenThroughput,
      outputTokenThroughput,
      totalTokenThroughput,
      peakOutputTokensPerS: window !== undefined ? this.output.peak(window.startMs, window.endMs) : undefined,
      peakConcurrency: peakConcurrency(this.okSend.view(), this.okEnd.view()),
      tokenMismatch: { ...this.mismatch },
      queuedRequests: queued,
      sendRate: rate,
      lagWarning: lagMessage !== undefined,
      lagMessage,
      outputLengths: outputLengths(this.mismatch, ctx.ignoreEosSent ?? true),
      warnings: [],
    };

    const r = this.reasoningSeen;
    if (r.requests > 0) {
      const ttfot = summarize(this.ttfot.view());
      if (ttfot !== undefined) m.timeToFirstOutputMs = ttfot;
    }
    if (r.requests > 0 || r.tokensReported > 0) {
      m.reasoning = {
        requests: r.requests,
        chunks: r.chunks,
        ...(r.tokensReported > 0 ? { tokens: r.tokens } : {}),
        tokensReported: r.tokensReported,
      };
    }

    const goodput = this.goodput.finish(perS, this.total);
    if (goodput !== undefined) m.goodput = goodput;
    if (ctx.cost !== undefined) {
      m.cost = costMetrics(ctx.cost, {
        input: inputTokenThroughput,
        output: outputTokenThroughput,
        total: totalTokenThroughput,
      });
    }

    m.warnings = metricWarnings(m);
    return m;
  }
}

/** Reduces traces (any iterable: an array, or a generator reading a file) to metrics. */
export function aggregate(traces: Iterable<RequestTrace>, ctx: AggregateContext): WorkloadMetrics {
  const agg = new Aggregator(ctx);
  for (const t of traces) agg.add(t);
  return agg.finish();
}

/** Like `aggregate`, for traces streamed back asynchronously (e.g. lines of a JSONL artifact). */
export async function aggregateStream(
  traces: AsyncIterable<RequestTrace> | Iterable<RequestTrace>,
  ctx: AggregateContext,
): Promise<WorkloadMetrics> {
  const agg = new Aggregator(ctx);
  for await (const t of traces) agg.add(t);
  return agg.finish();
}
