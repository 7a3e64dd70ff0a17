/**
 * The worker's Prometheus series. Names that mirror vLLM's carry the prefix `tokenforge:` in
 * place of `vllm:` and keep vLLM's meaning and units, so a dashboard written for one reads the
 * other by swapping the prefix (docs/metrics.md lists them). A registry per worker: no globals.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EngineStats } from "../spec/engine.js";

// Buckets suited to LLM serving: TTFT from 1 ms to a minute, token gaps from 1 ms to seconds.
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];
const ITL_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
  0.75, 1, 2.5,
];
const E2E_BUCKETS = [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240];
const TOKEN_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly requestSuccess: Counter<"model_name" | "finished_reason">;
  readonly promptTokens: Counter<"model_name">;
  readonly generationTokens: Counter<"model_name">;
  readonly ttft: Histogram<"model_name">;
  readonly itl: Histogram<"model_name">;
  readonly e2e: Histogram<"model_name">;
  readonly queueTime: Histogram<"model_name">;
  readonly requestPromptTokens: Histogram<"model_name">;
  readonly requestGenerationTokens: Histogram<"model_name">;

  constructor(stats: () => (EngineStats & { model: string }) | undefined) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: "tokenforge_http_requests_total",
      help: "HTTP requests served by the worker, by route and status code.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.requestSuccess = new Counter({
      name: "tokenforge:request_success_total",
      help: "Generation requests that finished, by finish reason (length, stop, abort).",
      labelNames: ["model_name", "finished_reason"],
      registers,
    });
    this.promptTokens = new Counter({
      name: "tokenforge:prompt_tokens_total",
      help: "Prompt tokens processed.",
      labelNames: ["model_name"],
      registers,
    });
    this.generationTokens = new Counter({
      name: "tokenforge:generation_tokens_total",
      help: "Tokens generated.",
      labelNames: ["model_name"],
      registers,
    });
    this.ttft = new Histogram({
      name: "tokenforge:time_to_first_token_seconds",
      help: "Seconds from the request's arrival to its first generated token.",
      labelNames: ["model_name"],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.itl = new Histogram({
      name: "tokenforge:inter_token_latency_seconds",
      help: "Seconds between consecutive generated tokens of one request.",
      labelNames: ["model_name"],
      buckets: ITL_BUCKETS,
      registers,
    });
    this.e2e = new Histogram({
      name: "tokenforge:e2e_request_latency_seconds",
      help: "Seconds from the request's arrival to its last token.",
      labelNames: ["model_name"],
      buckets: E2E_BUCKETS,
      registers,
    });
    this.queueTime = new Histogram({
      name: "tokenforge:request_queue_time_seconds",
      help: "Seconds a request waited for a free sequence before generation began.",
      labelNames: ["model_name"],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.requestPromptTokens = new Histogram({
      name: "tokenforge:request_prompt_tokens",
      help: "Prompt tokens per finished request.",
      labelNames: ["model_name"],
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.requestGenerationTokens = new Histogram({
      name: "tokenforge:request_generation_tokens",
      help: "Generated tokens per finished request.",
      labelNames: ["model_name"],
      buckets: TOKEN_BUCKETS,
      registers,
    });
    // Gauges read the engine when scraped, so they are never stale.
    const gauge = (name: string, help: string, pick: (s: EngineStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["model_name"],
        registers,
        collect() {
          this.reset();
          const s = stats();
          if (s) this.set({ model_name: s.model }, pick(s));
        },
      });
    gauge(
      "tokenforge:num_requests_running",
      "Requests holding a sequence in the running batch.",
      (s) => s.running,
    );
    gauge("tokenforge:num_requests_waiting", "Requests queued for a free sequence.", (s) => s.waiting);
    gauge(
      "tokenforge:kv_cache_usage_perc",
      "Fraction of KV-cache cells in use (0..1), as vLLM's kv_cache_usage_perc.",
      (s) => s.kvCacheUsage,
    );
  }
}
