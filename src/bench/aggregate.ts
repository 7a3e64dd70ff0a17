/**
 * Reduces the per-request traces of one workload on one runtime to its metrics (their definitions
 * and conventions are in metric-types.ts), in one pass over the traces (an iterable or async
 * iterable, so a JSONL file of 100k traces can stream through) collecting into typed arrays. Cost
 * is priced by cost.ts and the notes on the figures are written by warnings.ts.
 */
import { costMetrics } from "./cost.js";
import type { ErrorSample, TokenMismatch, WorkloadMetrics } from "./metric-types.js";
import { Float32Buffer, Float64Buffer, summarize } from "./stats.js";
import type { CostProfile, Outcome, RequestTrace, Slo } from "./types.js";
import { metricWarnings, scheduleWarnings, sendRate } from "./warnings.js";

const MAX_ERROR_SAMPLES = 5;

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

function sloConfigured(slo: Slo): boolean {
  return slo.ttftMs !== undefined || slo.tpotMs !== undefined || slo.e2eMs !== undefined;
}

/** Accumulates traces one at a time; `finish` computes the metrics. */
export class Aggregator {
  private readonly ctx: AggregateContext;
  private readonly hasSlo: boolean;

  private warmup = 0;
  private total = 0;
  private ok = 0;
  private errored = 0;
  private incomplete = 0;
  private readonly errors = new Map<string, ErrorSample>();

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
  /**
   * Arrival of every content chunk of ok requests, for the peak output rate. Token counts are kept
   * as runs of equal values (chunk index where a run starts, tokens per chunk), which is one run in
   * the common case of one token per chunk.
   */
  /** Chunk arrivals as offsets from `chunkRef` (the first chunk seen), in float32. */
  private readonly chunkAt = new Float32Buffer(1024);
  private chunkRef: number | undefined;
  private readonly runStart = new Float64Buffer(16);
  private readonly runTokens = new Float64Buffer(16);
  private lastRunTokens = Number.NaN;

  private readonly excluded = { ttft: 0, e2e: 0, tpot: 0, itl: 0, tokensPerChunk: 0, peakOutputTokens: 0 };
  private tpcTokens = 0;
  private tpcChunks = 0;
  private inputTokens = 0;
  private outputTokens = 0;
  private usageSeen = 0;
  private usageMissing = 0;
  private goodMet = 0;
  private readonly mismatch: TokenMismatch = {
    compared: 0,
    promptVsPlanned: 0,
    completionVsRequested: 0,
    completionVsChunks: 0,
    plannedPromptTokens: 0,
    serverPromptTokens: 0,
    requestedCompletionTokens: 0,
    serverCompletionTokens: 0,
  };

  constructor(ctx: AggregateContext) {
    this.ctx = ctx;
    this.hasSlo = sloConfigured(ctx.slo);
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
    if (usage !== undefined) this.countMismatch(t, usage);

    if (t.outcome !== "ok") {
      if (t.outcome === "error") this.errored++;
      else this.incomplete++;
      this.sampleError(t);
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

    const perChunk = t.chunkTokens;
    if (perChunk !== undefined && perChunk.length === nChunks) {
      for (let i = 0; i < nChunks; i++) this.pushChunk(chunks[i]!, perChunk[i]!);
    } else if (usage !== undefined && nChunks > 0) {
      const each = usage.completionTokens / nChunks;
      for (let i = 0; i < nChunks; i++) this.pushChunk(chunks[i]!, each);
    } else this.excluded.peakOutputTokens += nChunks;

    if (this.hasSlo) {
      const { ttftMs, tpotMs, e2eMs } = this.ctx.slo;
      const meets =
        (ttftMs === undefined || (ttft !== undefined && ttft <= ttftMs)) &&
        (tpotMs === undefined || (tpot !== undefined && tpot <= tpotMs)) &&
        (e2eMs === undefined || (e2e !== undefined && e2e <= e2eMs));
      if (meets) this.goodMet++;
    }
  }

  private pushChunk(atMs: number, tokens: number): void {
    if (tokens !== this.lastRunTokens) {
      this.runStart.push(this.chunkAt.length);
      this.runTokens.push(tokens);
      this.lastRunTokens = tokens;
    }
    this.chunkRef ??= atMs;
    this.chunkAt.push(atMs - this.chunkRef);
  }

  private countMismatch(t: RequestTrace, usage: NonNullable<RequestTrace["usage"]>): void {
    const m = this.mismatch;
    m.compared++;
    m.plannedPromptTokens += t.promptTokens;
    m.serverPromptTokens += usage.promptTokens;
    m.requestedCompletionTokens += t.maxTokens;
    m.serverCompletionTokens += usage.completionTokens;
    if (usage.promptTokens !== t.promptTokens) m.promptVsPlanned++;
    if (usage.completionTokens !== t.maxTokens) m.completionVsRequested++;
    if (t.chunkTokens === undefined && t.chunkMs.length !== usage.completionTokens) m.completionVsChunks++;
  }

  private sampleError(t: RequestTrace): void {
    const outcome = t.outcome as Exclude<Outcome, "ok">;
    const error = t.error ?? (outcome === "incomplete" ? "stream ended early" : "error");
    const key = `${outcome}\u0000${t.status ?? ""}\u0000${error}`;
    const seen = this.errors.get(key);
    if (seen !== undefined) seen.count++;
    else if (this.errors.size < MAX_ERROR_SAMPLES) {
      const sample: ErrorSample = { outcome, error, count: 1 };
      if (t.status !== undefined) sample.status = t.status;
      this.errors.set(key, sample);
    }
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
    const m0 = this.mismatch;
    const ignoreEosSent = ctx.ignoreEosSent ?? true;

    const m: WorkloadMetrics = {
      warmupRequests: this.warmup,
      counts: { total: this.total, ok: this.ok, errored: this.errored, incomplete: this.incomplete },
      errorSamples: [...this.errors.values()],
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
      peakOutputTokensPerS: window !== undefined ? this.peakOutput(window.startMs, window.endMs) : undefined,
      peakConcurrency: this.peakConcurrency(),
      tokenMismatch: { ...this.mismatch },
      queuedRequests: queued,
      sendRate: rate,
      lagWarning: lagMessage !== undefined,
      lagMessage,
      outputLengths:
        m0.compared > 0
          ? {
              exact: ignoreEosSent && m0.completionVsRequested === 0,
              ignoreEosSent,
              compared: m0.compared,
              differ: m0.completionVsRequested,
              requestedTokens: m0.requestedCompletionTokens,
              generatedTokens: m0.serverCompletionTokens,
            }
          : undefined,
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

    if (this.hasSlo) {
      const slo: Slo = {};
      if (ctx.slo.ttftMs !== undefined) slo.ttftMs = ctx.slo.ttftMs;
      if (ctx.slo.tpotMs !== undefined) slo.tpotMs = ctx.slo.tpotMs;
      if (ctx.slo.e2eMs !== undefined) slo.e2eMs = ctx.slo.e2eMs;
      m.goodput = {
        slo,
        met: this.goodMet,
        requestsPerS: perS(this.goodMet),
        fraction: this.total > 0 ? this.goodMet / this.total : undefined,
      };
    }
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

  /** Max over 1-second bins [start + k s, start + (k+1) s) of the output tokens whose chunk arrived in it. */
  private peakOutput(startMs: number, endMs: number): number | undefined {
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

  /** Sweep over half-open [send, end) intervals; an end at the same instant as a send goes first. */
  private peakConcurrency(): number | undefined {
    const n = this.okSend.length;
    if (n === 0) return undefined;
    const sends = this.okSend.view().sort();
    const ends = this.okEnd.view().sort();
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
