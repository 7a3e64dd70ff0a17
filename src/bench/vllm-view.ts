/**
 * The metrics of one workload on one runtime in the JSON layout `vllm bench serve --save-result`
 * writes (vllm/benchmarks/serve.py), so scripts and dashboards built for vLLM's result files read
 * TokenForge's. Run as if with `--percentile-metrics ttft,tpot,itl,e2el --metric-percentiles
 * 50,90,95,99` (and `--save-detailed` when traces are given).
 *
 * Differences, all on the side of not inventing numbers:
 * - A metric with no values is `null` where vLLM writes 0 (vLLM takes `np.mean(ttfts or 0)`).
 * - `std_*_ms` is the population standard deviation like numpy's `np.std` (converted from the
 *   sample stdev TokenForge keeps).
 * - `total_input_tokens` / `total_output_tokens` are the server's `usage` sums, not a client
 *   tokenizer's count; per-request `output_lens` are `null` where usage is missing.
 * - `duration` is TokenForge's measured window (first send → last end), not the wall time of the
 *   benchmark coroutine; `max_output_tokens_per_s` counts each chunk's tokens, not one per chunk.
 */
import type { WorkloadMetrics } from "./metric-types.js";
import type { Summary } from "./stats.js";
import type { RequestTrace } from "./types.js";

export interface VllmViewMeta {
  model: string;
  /** vLLM's `--backend` (e.g. "openai", "openai-chat", "vllm"); TokenForge's runtime name fits. */
  backend: string;
  /** A Date is written as vLLM does (`%Y%m%d-%H%M%S`, local time); a string as given. */
  date: Date | string;
  tokenizer?: string;
  label?: string;
  /** Offered rate in requests/s; undefined or Infinity is written as "inf". */
  requestRate?: number;
  /** Gamma shape of arrivals; 1 is Poisson. */
  burstiness: number;
  maxConcurrency?: number;
  numPrompts: number;
  /** When given, the per-request arrays of `--save-detailed` are added (non-warmup traces, in order). */
  traces?: Iterable<RequestTrace>;
}

const PERCENTILES = [50, 90, 95, 99] as const;
const METRICS = [
  ["ttft", "ttftMs"],
  ["tpot", "tpotMs"],
  ["itl", "itlMs"],
  ["e2el", "e2eMs"],
] as const;

export type VllmBenchServeResult = Record<string, unknown>;

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** `datetime.now().strftime("%Y%m%d-%H%M%S")`. */
export function vllmDate(d: Date): string {
  return (
    `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}-` +
    `${pad2(d.getHours())}${pad2(d.getMinutes())}${pad2(d.getSeconds())}`
  );
}

/** numpy's population std from a sample stdev over `count` values. */
function populationStd(s: Summary): number {
  return s.count > 1 ? s.stdev * Math.sqrt((s.count - 1) / s.count) : 0;
}

function addPercentileMetric(out: VllmBenchServeResult, name: string, s: Summary | undefined): void {
  out[`mean_${name}_ms`] = s?.mean ?? null;
  out[`median_${name}_ms`] = s?.p50 ?? null;
  out[`std_${name}_ms`] = s !== undefined ? populationStd(s) : null;
  for (const p of PERCENTILES) out[`p${p}_${name}_ms`] = s?.[`p${p}`] ?? null;
}

export function toVllmBenchServe(metrics: WorkloadMetrics, meta: VllmViewMeta): VllmBenchServeResult {
  const rate = meta.requestRate;
  const out: VllmBenchServeResult = {
    date: typeof meta.date === "string" ? meta.date : vllmDate(meta.date),
    endpoint_type: meta.backend,
    backend: meta.backend,
    label: meta.label ?? null,
    model_id: meta.model,
    tokenizer_id: meta.tokenizer ?? meta.model,
    num_prompts: meta.numPrompts,
    request_rate: rate === undefined || !Number.isFinite(rate) ? "inf" : rate,
    burstiness: meta.burstiness,
    max_concurrency: meta.maxConcurrency ?? null,
    duration: metrics.durationS ?? null,
    completed: metrics.counts.ok,
    failed: metrics.counts.errored + metrics.counts.incomplete,
    total_input_tokens: metrics.tokens.input ?? null,
    total_output_tokens: metrics.tokens.output ?? null,
    request_throughput: metrics.requestThroughput ?? null,
    request_goodput: metrics.goodput !== undefined ? (metrics.goodput.requestsPerS ?? null) : null,
    output_throughput: metrics.outputTokenThroughput ?? null,
    total_token_throughput: metrics.totalTokenThroughput ?? null,
    max_output_tokens_per_s: metrics.peakOutputTokensPerS ?? null,
    max_concurrent_requests: metrics.peakConcurrency ?? null,
  };
  for (const [name, key] of METRICS) addPercentileMetric(out, name, metrics[key]);
  // vLLM adds the client-side queueing metric only when --max-concurrency is set.
  if (meta.maxConcurrency !== undefined) addPercentileMetric(out, "client_queue_time", metrics.clientLagMs);
  if (meta.traces !== undefined) Object.assign(out, detailedArrays(meta.traces));
  return out;
}

/** vLLM's per-request arrays: lengths in tokens, times in seconds, `""` for no error. */
function detailedArrays(traces: Iterable<RequestTrace>): VllmBenchServeResult {
  const inputLens: number[] = [];
  const outputLens: (number | null)[] = [];
  const ttfts: (number | null)[] = [];
  const itls: number[][] = [];
  const latencies: (number | null)[] = [];
  const startTimes: number[] = [];
  const queueTimes: number[] = [];
  const errors: string[] = [];
  for (const t of traces) {
    if (t.warmup) continue;
    const ok = t.outcome === "ok";
    const chunks = t.chunkMs;
    inputLens.push(t.promptTokens);
    outputLens.push(ok ? (t.usage?.completionTokens ?? null) : 0);
    ttfts.push(ok && chunks.length > 0 ? (chunks[0]! - t.sendMs) / 1000 : null);
    const gaps: number[] = [];
    if (ok) for (let i = 1; i < chunks.length; i++) gaps.push((chunks[i]! - chunks[i - 1]!) / 1000);
    itls.push(gaps);
    latencies.push(ok && t.endMs !== undefined ? (t.endMs - t.sendMs) / 1000 : null);
    startTimes.push(t.sendMs / 1000);
    queueTimes.push((t.sendMs - t.scheduledMs) / 1000);
    errors.push(ok ? "" : (t.error ?? t.outcome));
  }
  return {
    input_lens: inputLens,
    output_lens: outputLens,
    ttfts,
    itls,
    latencies,
    start_times: startTimes,
    queue_times: queueTimes,
    errors,
  };
}

/** Where a workload's result in this layout goes, relative to the run's directory. */
export function vllmFileOf(workload: string, runtime: string): string {
  return `vllm/${workload.replaceAll("/", "_")}.${runtime}.json`;
}
