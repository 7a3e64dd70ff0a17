/**
 * What every server of TokenForge's worker protocol shares (shared/PROTOCOL.md): `/health`
 * answers 200 when ready and 503 while loading or failed (`{status: "failed", error}`), and
 * `/metrics` carries vLLM's series under the `tokenforge:` prefix with vLLM's meanings. Runtimes
 * served by a TokenForge worker (or by an engine's own server that follows the protocol) use these.
 */
import type { HealthContract, HealthState, NativeMetrics, NativeSeries } from "../spec/runtime.js";

/** Reads a `/health` answer of the worker protocol. */
export function readWorkerHealth(status: number, body: unknown): HealthState {
  if (status === 200) return { state: "ready", body };
  if (typeof body === "object" && body !== null && (body as { status?: unknown }).status === "failed") {
    const error = (body as { error?: unknown }).error;
    return { state: "failed", reason: typeof error === "string" && error !== "" ? error : "failed to load" };
  }
  return { state: "loading" };
}

export const WORKER_HEALTH: HealthContract = { path: "/health", read: readWorkerHealth };

const tf = (name: string): readonly NativeSeries[] => [
  { name: `tokenforge:${name}`, generation: "tokenforge" },
];

/** The `tokenforge:` series of a TokenForge worker. */
export const WORKER_METRICS: NativeMetrics = {
  path: "/metrics",
  series: {
    running: tf("num_requests_running"),
    waiting: tf("num_requests_waiting"),
    kvCacheUsage: tf("kv_cache_usage_perc"),
    prefixCacheHits: tf("prefix_cache_hits_total"),
    prefixCacheQueries: tf("prefix_cache_queries_total"),
    prefillTimeSum: tf("request_prefill_time_seconds_sum"),
    prefillTimeCount: tf("request_prefill_time_seconds_count"),
    decodeTimeSum: tf("request_decode_time_seconds_sum"),
    decodeTimeCount: tf("request_decode_time_seconds_count"),
  },
};
