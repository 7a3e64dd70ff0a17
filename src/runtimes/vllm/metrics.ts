/**
 * vLLM's own Prometheus series (`vllm:` prefix) and what each means to the harness. Current
 * names come first; vLLM before v0.8 named the KV cache and prefix cache series with `gpu_`,
 * and one such name marks the whole server as that older generation.
 */
import type { NativeMetrics, NativeSeries } from "../../spec/runtime.js";

const current = (...names: string[]): NativeSeries[] =>
  names.map((n) => ({ name: `vllm:${n}`, generation: n.startsWith("gpu_") ? "vllm-legacy" : "vllm" }));

export const VLLM_METRICS: NativeMetrics = {
  path: "/metrics",
  series: {
    running: current("num_requests_running"),
    waiting: current("num_requests_waiting"),
    kvCacheUsage: current("kv_cache_usage_perc", "gpu_cache_usage_perc"),
    prefixCacheHits: current("prefix_cache_hits_total", "gpu_prefix_cache_hits_total"),
    prefixCacheQueries: current("prefix_cache_queries_total", "gpu_prefix_cache_queries_total"),
    prefillTimeSum: current("request_prefill_time_seconds_sum"),
    prefillTimeCount: current("request_prefill_time_seconds_count"),
    decodeTimeSum: current("request_decode_time_seconds_sum"),
    decodeTimeCount: current("request_decode_time_seconds_count"),
  },
  // running/waiting kept their names across generations: one older name marks the older one.
  supersedes: { "vllm-legacy": "vllm" },
};
