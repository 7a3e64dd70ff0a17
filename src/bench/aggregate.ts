/**
 * Reduces the per-request traces of one workload on one runtime to its metrics, in one pass over
 * the traces (an iterable or async iterable, so a JSONL file of 100k traces can stream through)
 * collecting into typed arrays. The definitions below are DESIGN.md's "Metric definitions"; they
 * are repeated in docs/metrics.md ("Benchmark metrics") and the two must agree.
 *
 * Conventions:
 * - Times are milliseconds (offsets from the run's start); throughputs are per second.
 * - Warmup traces (`warmup: true`) count only towards `warmupRequests`.
 * - Latency metrics (TTFT, E2E, TPOT, ITL) are taken over `ok` requests only, like vLLM's.
 * - Unknown is never zero: a summary over no values is absent (`undefined`), and every metric that
 *   skips requests says how many in `excluded`.
 */
import { Float32Buffer, Float64Buffer, type Summary, summarize } from "./stats.js";
import type { CostProfile, Outcome, RequestTrace, Slo } from "./types.js";

/** Client lag above this (p99, ms) means the client did not keep the schedule. */
export const LAG_WARNING_P99_MS = 1;
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
  /** The offered request rate, passed through to the result. */
  offeredQps?: number;
  /** Where planned prompt token counts came from (e.g. "server-tokenize"), passed through. */
  tokenSource?: string;
  /** Requests that waited for a free slot under `maxConcurrency` (the runner counts them). */
  queuedRequests?: number;
}

/** Up to five distinct failures, with how many requests failed that way. */
export interface ErrorSample {
  outcome: Exclude<Outcome, "ok">;
  status?: number;
  error: string;
  count: number;
}

export interface TokenMismatch {
  /** Non-warmup requests with server usage, the set every count below is over. */
  compared: number;
  /** Requests whose `usage.prompt_tokens` ≠ the planned prompt tokens. */
  promptVsPlanned: number;
  /** Requests whose `usage.completion_tokens` ≠ `max_tokens` (ignore_eos not honoured, or a stop). */
  completionVsRequested: number;
  /**
   * Informational: requests without per-chunk token counts whose content-chunk count ≠
   * `usage.completion_tokens`. Expected when a server sends several tokens per chunk.
   */
  completionVsChunks: number;
  plannedPromptTokens: number;
  serverPromptTokens: number;
  requestedCompletionTokens: number;
  serverCompletionTokens: number;
}

export interface CostMetrics {
  dollarsPerHour: number;
  /** dollarsPerHour × 10⁶ / (inputTokenThroughput × 3600); absent when that throughput is 0 or unknown. */
  costPer1MInputTokens?: number;
  /** dollarsPerHour × 10⁶ / (outputTokenThroughput × 3600); absent when 0 or unknown. */
  costPer1MOutputTokens?: number;
  /** dollarsPerHour × 10⁶ / (totalTokenThroughput × 3600); absent when 0 or unknown. */
  costPer1MTotalTokens?: number;
}

export interface GoodputMetrics {
  /** The SLOs the requests were held to (only the configured ones). */
  slo: Slo;
  /** Ok requests that met every configured SLO. */
  met: number;
  /** met / durationS; absent when the duration is 0 or unknown. */
  requestsPerS?: number;
  /** met / counts.total (a failed request misses its SLO); absent with no requests. */
  fraction?: number;
}

export interface WorkloadMetrics {
  /** Warmup requests seen; excluded from every other figure. */
  warmupRequests: number;
  /** Non-warmup requests by outcome. */
  counts: { total: number; ok: number; errored: number; incomplete: number };
  errorSamples: ErrorSample[];
  /** The measured window (ms); absent when there was no non-warmup request and none was given. */
  window?: { startMs: number; endMs: number };
  /** (window end − window start) / 1000. */
  durationS?: number;
  offeredQps?: number;
  tokenSource?: string;

  /** TTFT: first content chunk − send, ok requests with at least one content chunk. */
  ttftMs?: Summary;
  /** First content chunk − scheduled: includes the client's own lag and any max_concurrency wait. */
  ttftFromScheduledMs?: Summary;
  /** E2E latency: end (last byte) − send, ok requests with an end. */
  e2eMs?: Summary;
  /** End − scheduled. */
  e2eFromScheduledMs?: Summary;
  /** TPOT per request: (E2E − TTFT) / (usage.completion_tokens − 1), ok requests with ≥ 2 tokens. */
  tpotMs?: Summary;
  /** ITL: every gap between consecutive content chunks, pooled across ok requests (vLLM's ITL). */
  itlMs?: Summary;
  /** Σ usage.completion_tokens / Σ content chunks over ok requests with usage and a chunk. */
  tokensPerChunk?: number;
  /** Client lag: send − scheduled, every non-warmup request. */
  clientLagMs?: Summary;
  /** Ok requests each metric skipped (and why it could not be computed for them). */
  excluded: {
    /** No content chunk. */
    ttft: number;
    /** No end time. */
    e2e: number;
    /** No usage, fewer than 2 completion tokens, no content chunk or no end. */
    tpot: number;
    /** Fewer than 2 content chunks (no gap to measure). */
    itl: number;
    /** No usage or no content chunk. */
    tokensPerChunk: number;
    /** Chunks whose token count is unknown (no chunkTokens and no usage): left out of the peak. */
    peakOutputTokens: number;
  };

  /** Σ usage.prompt_tokens / Σ usage.completion_tokens over ok requests that reported usage. */
  tokens: { input?: number; output?: number; usageMissing: number };
  /** ok / durationS. */
  requestThroughput?: number;
  /** tokens.input / durationS; a lower bound when tokens.usageMissing > 0. */
  inputTokenThroughput?: number;
  /** tokens.output / durationS; a lower bound when tokens.usageMissing > 0. */
  outputTokenThroughput?: number;
  /** (tokens.input + tokens.output) / durationS. */
  totalTokenThroughput?: number;
  /** The most output tokens whose chunks arrived in one 1-second bin of the window (ok requests). */
  peakOutputTokensPerS?: number;
  /** Most ok requests in flight at once ([send, end) intervals). */
  peakConcurrency?: number;

  /** Absent when no SLO is configured. */
  goodput?: GoodputMetrics;
  tokenMismatch: TokenMismatch;
  /** Absent when no cost profile was given. */
  cost?: CostMetrics;

  /** Requests that waited for max_concurrency, as the caller reported. */
  queuedRequests?: number;
  /** True when client lag p99 > 1 ms or any request waited for max_concurrency. */
  lagWarning: boolean;
  lagMessage?: string;
  /** Human-readable notes on figures to read with care (lag, missing usage, token mismatches). */
  warnings: string[];
}

function sloConfigured(slo: Slo): boolean {
  return slo.ttftMs !== undefined || slo.tpotMs !== undefined || slo.e2eMs !== undefined;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
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
  private readonly e2e = new Float64Buffer();
  private readonly e2eSched = new Float64Buffer();
  private readonly tpot = new Float64Buffer();
  /** Millions of values in a long run: float32 keeps every gap to well under a microsecond. */
  private readonly itl = new Float32Buffer();
  private readonly lag = new Float64Buffer();
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
    const lagMessages: string[] = [];
    if (clientLagMs !== undefined && clientLagMs.p99 > LAG_WARNING_P99_MS) {
      lagMessages.push(
        `client lag p99 ${fmt(clientLagMs.p99)} ms > ${LAG_WARNING_P99_MS} ms: requests left later than scheduled, ` +
          "so the offered load was lower than planned; TTFT from scheduled time includes the lag",
      );
    }
    if (queued !== undefined && queued > 0) {
      lagMessages.push(`${queued} request(s) waited for max_concurrency before being sent`);
    }
    const ttftMs = summarize(this.ttft.view());
    const ttftFromScheduledMs = summarize(this.ttftSched.view());
    if (lagMessages.length > 0 && ttftMs !== undefined && ttftFromScheduledMs !== undefined) {
      lagMessages.push(
        `TTFT p50/p99 from the scheduled time ${fmt(ttftFromScheduledMs.p50)}/${fmt(ttftFromScheduledMs.p99)} ms, ` +
          `from send ${fmt(ttftMs.p50)}/${fmt(ttftMs.p99)} ms`,
      );
    }
    const lagMessage = lagMessages.length > 0 ? lagMessages.join("; ") : undefined;

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
      lagWarning: lagMessage !== undefined,
      lagMessage,
      warnings: [],
    };

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
      const perMillion = (throughput: number | undefined): number | undefined =>
        throughput !== undefined && throughput > 0
          ? (ctx.cost!.dollarsPerHour * 1e6) / (throughput * 3600)
          : undefined;
      m.cost = {
        dollarsPerHour: ctx.cost.dollarsPerHour,
        costPer1MInputTokens: perMillion(inputTokenThroughput),
        costPer1MOutputTokens: perMillion(outputTokenThroughput),
        costPer1MTotalTokens: perMillion(totalTokenThroughput),
      };
    }

    m.warnings = this.warnings(m);
    return m;
  }

  private warnings(m: WorkloadMetrics): string[] {
    const out: string[] = [];
    if (m.lagMessage !== undefined) out.push(m.lagMessage);
    if (m.tokens.usageMissing > 0) {
      out.push(
        `${m.tokens.usageMissing} of ${m.counts.ok} ok request(s) reported no usage: token throughputs count only ` +
          "the requests that did (a lower bound), TPOT skips them",
      );
    }
    const mm = m.tokenMismatch;
    if (mm.promptVsPlanned > 0) {
      out.push(
        `${mm.promptVsPlanned} request(s) had a server prompt token count different from the plan ` +
          `(planned ${mm.plannedPromptTokens}, server ${mm.serverPromptTokens} in total)`,
      );
    }
    if (mm.completionVsRequested > 0) {
      out.push(
        `${mm.completionVsRequested} request(s) generated a different number of tokens than max_tokens ` +
          `(requested ${mm.requestedCompletionTokens}, server ${mm.serverCompletionTokens} in total)`,
      );
    }
    if (m.counts.total > 0 && m.counts.ok === 0) out.push("no request succeeded");
    return out;
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
