/**
 * Every Prometheus series TokenForge exposes, with its meaning, in one place. The worker and the
 * harness build their registries from these entries (telemetry/prom.ts), docs/metrics.md
 * describes them, and dashboards are checked against the names here.
 *
 * Worker series that mirror vLLM's carry the prefix `tokenforge:` in place of `vllm:` and keep
 * vLLM's meaning and units (`mirrors` names the vLLM series). Harness series describe what the
 * benchmark client saw, per run, workload and runtime.
 */

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
  /** Who exposes it. */
  component: "worker" | "harness" | "gateway";
  /** The vLLM series with the same meaning, when there is one. */
  mirrors?: string;
}

/** Buckets suited to LLM serving: TTFT from 1 ms to a minute and more, token gaps from 1 ms to seconds. */
export const BUCKETS = {
  ttft: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80],
  itl: [
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
    0.75, 1, 2.5,
  ],
  e2e: [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240],
  tokens: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
  /** Client lag: 10 µs to a second. */
  lag: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
} as const;

const MODEL = ["model_name"] as const;
const BENCH = ["run", "workload", "runtime"] as const;

export const CATALOGUE = {
  // ---- worker (`tokenforge worker`, GET /metrics) ----
  workerHttpRequests: {
    name: "tokenforge_http_requests_total",
    type: "counter",
    help: "HTTP requests served by the worker, by route and status code.",
    labels: ["method", "route", "status"],
    component: "worker",
  },
  workerRequestSuccess: {
    name: "tokenforge:request_success_total",
    type: "counter",
    help: "Generation requests that finished, by finish reason (length, stop, abort).",
    labels: ["model_name", "finished_reason"],
    component: "worker",
    mirrors: "vllm:request_success_total",
  },
  workerPromptTokens: {
    name: "tokenforge:prompt_tokens_total",
    type: "counter",
    help: "Prompt tokens processed.",
    labels: MODEL,
    component: "worker",
    mirrors: "vllm:prompt_tokens_total",
  },
  workerGenerationTokens: {
    name: "tokenforge:generation_tokens_total",
    type: "counter",
    help: "Tokens generated.",
    labels: MODEL,
    component: "worker",
    mirrors: "vllm:generation_tokens_total",
  },
  workerTtft: {
    name: "tokenforge:time_to_first_token_seconds",
    type: "histogram",
    help: "Seconds from the request's arrival to its first generated token.",
    labels: MODEL,
    buckets: BUCKETS.ttft,
    component: "worker",
    mirrors: "vllm:time_to_first_token_seconds",
  },
  workerItl: {
    name: "tokenforge:inter_token_latency_seconds",
    type: "histogram",
    help: "Seconds between consecutive generated tokens of one request.",
    labels: MODEL,
    buckets: BUCKETS.itl,
    component: "worker",
    mirrors: "vllm:inter_token_latency_seconds",
  },
  workerE2e: {
    name: "tokenforge:e2e_request_latency_seconds",
    type: "histogram",
    help: "Seconds from the request's arrival to its last token.",
    labels: MODEL,
    buckets: BUCKETS.e2e,
    component: "worker",
    mirrors: "vllm:e2e_request_latency_seconds",
  },
  workerQueueTime: {
    name: "tokenforge:request_queue_time_seconds",
    type: "histogram",
    help: "Seconds a request waited for a free sequence before generation began.",
    labels: MODEL,
    buckets: BUCKETS.ttft,
    component: "worker",
    mirrors: "vllm:request_queue_time_seconds",
  },
  workerRequestPromptTokens: {
    name: "tokenforge:request_prompt_tokens",
    type: "histogram",
    help: "Prompt tokens per finished request.",
    labels: MODEL,
    buckets: BUCKETS.tokens,
    component: "worker",
    mirrors: "vllm:request_prompt_tokens",
  },
  workerRequestGenerationTokens: {
    name: "tokenforge:request_generation_tokens",
    type: "histogram",
    help: "Generated tokens per finished request.",
    labels: MODEL,
    buckets: BUCKETS.tokens,
    component: "worker",
    mirrors: "vllm:request_generation_tokens",
  },
  workerRunning: {
    name: "tokenforge:num_requests_running",
    type: "gauge",
    help: "Requests holding a sequence in the running batch.",
    labels: MODEL,
    component: "worker",
    mirrors: "vllm:num_requests_running",
  },
  workerWaiting: {
    name: "tokenforge:num_requests_waiting",
    type: "gauge",
    help: "Requests queued for a free sequence.",
    labels: MODEL,
    component: "worker",
    mirrors: "vllm:num_requests_waiting",
  },
  workerKvCacheUsage: {
    name: "tokenforge:kv_cache_usage_perc",
    type: "gauge",
    help: "Fraction of KV-cache cells in use (0..1), as vLLM's kv_cache_usage_perc.",
    labels: MODEL,
    component: "worker",
    mirrors: "vllm:kv_cache_usage_perc",
  },
  workerRefused: {
    name: "tokenforge:requests_refused_total",
    type: "counter",
    help: "Generation requests the worker refused before generating, by reason: queue_full (429, past --max-waiting), queue_time (429, expected wait past --max-queue-ms), queue_timeout (429, waited past --max-queue-ms), prompt_too_large (413, past --max-prompt-bytes).",
    labels: ["model_name", "reason"],
    component: "worker",
  },

  gpuMemoryUsed: {
    name: "tokenforge_gpu_memory_used_bytes",
    type: "gauge",
    help: "GPU memory in use, from nvidia-smi; no series on a machine without a GPU.",
    labels: ["gpu", "name"],
    component: "worker",
  },
  gpuMemoryTotal: {
    name: "tokenforge_gpu_memory_total_bytes",
    type: "gauge",
    help: "GPU memory in total, from nvidia-smi; no series on a machine without a GPU.",
    labels: ["gpu", "name"],
    component: "worker",
  },
  gpuUtilization: {
    name: "tokenforge_gpu_utilization_ratio",
    type: "gauge",
    help: "GPU utilisation (0..1) over nvidia-smi's last sample period; absent when not reported.",
    labels: ["gpu", "name"],
    component: "worker",
  },
  gpuPower: {
    name: "tokenforge_gpu_power_watts",
    type: "gauge",
    help: "GPU power draw in watts, from nvidia-smi; absent when not reported.",
    labels: ["gpu", "name"],
    component: "worker",
  },

  // ---- gateway (`tokenforge serve`, GET /metrics) ----
  gatewayHttpRequests: {
    name: "tokenforge_gateway_http_requests_total",
    type: "counter",
    help: "HTTP requests the gateway answered, by method, route and status code.",
    labels: ["method", "route", "status"],
    component: "gateway",
  },
  gatewayProxied: {
    name: "tokenforge_gateway_proxied_requests_total",
    type: "counter",
    help: "Generation requests forwarded to a worker, counted when the answer ends, by model, runtime and status: the worker's status code, 502 when it did not answer, stream_error when its answer broke after the headers were sent, client_closed when the client left first.",
    labels: ["model", "runtime", "status"],
    component: "gateway",
  },
  gatewayInFlight: {
    name: "tokenforge_gateway_requests_in_flight",
    type: "gauge",
    help: "Generation requests being forwarded (sent to a worker, answer not finished).",
    labels: [],
    component: "gateway",
  },
  gatewayFirstByte: {
    name: "tokenforge_gateway_time_to_first_byte_seconds",
    type: "histogram",
    help: "Seconds from the gateway receiving a generation request to the worker's first body byte (TTFT as the gateway sees it for streams).",
    labels: ["model", "runtime"],
    buckets: BUCKETS.ttft,
    component: "gateway",
  },
  gatewayE2e: {
    name: "tokenforge_gateway_e2e_request_latency_seconds",
    type: "histogram",
    help: "Seconds from the gateway receiving a generation request to the last byte of the answer.",
    labels: ["model", "runtime"],
    buckets: BUCKETS.e2e,
    component: "gateway",
  },
  gatewayDeployments: {
    name: "tokenforge_gateway_deployments",
    type: "gauge",
    help: "Deployments by target and state (pending, starting, ready, failed, stopped).",
    labels: ["target", "state"],
    component: "gateway",
  },
  gatewayCapRefusals: {
    name: "tokenforge_gateway_cap_refusals_total",
    type: "counter",
    help: "Requests the gateway refused at one of its caps, by cap: deployments, replicas_per_deployment, worker_processes (409) or concurrent_runs (429).",
    labels: ["cap"],
    component: "gateway",
  },
  gatewayRefused: {
    name: "tokenforge_gateway_refused_requests_total",
    type: "counter",
    help: "Generation requests the gateway refused with 429 before forwarding them, by model, runtime and reason (deployment_busy: the deployment's in-flight limit was reached).",
    labels: ["model", "runtime", "reason"],
    component: "gateway",
  },
  gatewayAccessRefused: {
    name: "tokenforge_gateway_access_refused_total",
    type: "counter",
    help: "Requests the gateway refused before any handler ran, by reason: missing_key, unknown_key, revoked_key (401), wrong_role (403), bad_host (421), rate_limited, too_many_generations (429, per API key).",
    labels: ["reason"],
    component: "gateway",
  },

  // ---- harness (`tokenforge bench --metrics-port`, GET /metrics while a run goes) ----
  benchRequests: {
    name: "tokenforge_bench_requests_total",
    type: "counter",
    help: "Benchmark requests that ended, by outcome (ok, error, incomplete); warmup excluded.",
    labels: [...BENCH, "outcome"],
    component: "harness",
  },
  benchTtft: {
    name: "tokenforge_bench_time_to_first_token_seconds",
    type: "histogram",
    help: "Client-side TTFT: first content chunk − send, ok requests.",
    labels: BENCH,
    buckets: BUCKETS.ttft,
    component: "harness",
  },
  benchItl: {
    name: "tokenforge_bench_inter_token_latency_seconds",
    type: "histogram",
    help: "Client-side gaps between consecutive content chunks (vLLM's ITL), ok requests.",
    labels: BENCH,
    buckets: BUCKETS.itl,
    component: "harness",
  },
  benchE2e: {
    name: "tokenforge_bench_e2e_request_latency_seconds",
    type: "histogram",
    help: "Client-side end-to-end latency: last byte − send, ok requests.",
    labels: BENCH,
    buckets: BUCKETS.e2e,
    component: "harness",
  },
  benchClientLag: {
    name: "tokenforge_bench_client_lag_seconds",
    type: "histogram",
    help: "Send − scheduled time: how far the client fell behind its schedule.",
    labels: BENCH,
    buckets: BUCKETS.lag,
    component: "harness",
  },
  benchPromptTokens: {
    name: "tokenforge_bench_prompt_tokens_total",
    type: "counter",
    help: "Prompt tokens of ok requests, as the server's usage reported them.",
    labels: BENCH,
    component: "harness",
  },
  benchOutputTokens: {
    name: "tokenforge_bench_output_tokens_total",
    type: "counter",
    help: "Completion tokens of ok requests, as the server's usage reported them.",
    labels: BENCH,
    component: "harness",
  },
  benchInFlight: {
    name: "tokenforge_bench_requests_in_flight",
    type: "gauge",
    help: "Requests sent and not yet ended.",
    labels: BENCH,
    component: "harness",
  },
} as const satisfies Record<string, MetricSpec>;

export type CatalogueKey = keyof typeof CATALOGUE;

/**
 * The `status` of `tokenforge_gateway_proxied_requests_total` when it is not the status code of a
 * whole answer from the worker: it did not answer (502), its answer broke after the headers were
 * sent (an error for the client, whatever the status line said), or the client left first.
 */
export const PROXIED_STATUS = {
  noAnswer: "502",
  streamError: "stream_error",
  clientClosed: "client_closed",
} as const;

/** Every series name, for checks of dashboards and docs. */
export function metricNames(): string[] {
  return Object.values(CATALOGUE).map((m) => m.name);
}
