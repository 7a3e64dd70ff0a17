/**
 * The worker's Prometheus series, built from the catalogue (src/telemetry/catalogue.ts): names
 * that mirror vLLM's carry the prefix `tokenforge:` in place of `vllm:` and keep vLLM's meaning
 * and units, so a dashboard written for one reads the other by swapping the prefix
 * (docs/metrics.md lists them). A registry per worker: no globals.
 */
import { type Counter, collectDefaultMetrics, type Histogram, Registry } from "prom-client";
import type { EngineStats } from "../spec/engine.js";
import { CATALOGUE as C, type MetricSpec } from "../telemetry/catalogue.js";
import { type GpuSample, GpuSampler } from "../telemetry/gpu.js";
import { counter, gauge, histogram } from "../telemetry/prom.js";

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
  /** Requests refused by the worker's limits, by reason (admission.ts). */
  readonly refused: Counter<"model_name" | "reason">;

  constructor(
    stats: () => (EngineStats & { model: string }) | undefined,
    gpus: GpuSampler = new GpuSampler(),
  ) {
    const r = this.registry;
    // The process's CPU, memory and event-loop lag, under the worker's own prefix.
    collectDefaultMetrics({ register: r, prefix: "tokenforge_worker_" });
    this.httpRequests = counter(C.workerHttpRequests, r);
    this.requestSuccess = counter(C.workerRequestSuccess, r);
    this.promptTokens = counter(C.workerPromptTokens, r);
    this.generationTokens = counter(C.workerGenerationTokens, r);
    this.ttft = histogram(C.workerTtft, r);
    this.itl = histogram(C.workerItl, r);
    this.e2e = histogram(C.workerE2e, r);
    this.queueTime = histogram(C.workerQueueTime, r);
    this.requestPromptTokens = histogram(C.workerRequestPromptTokens, r);
    this.requestGenerationTokens = histogram(C.workerRequestGenerationTokens, r);
    this.refused = counter(C.workerRefused, r);
    // Gauges read the engine when scraped, so they are never stale.
    const engineGauge = (spec: MetricSpec, pick: (s: EngineStats) => number) =>
      gauge<"model_name">(spec, r, (set) => {
        const s = stats();
        if (s) set({ model_name: s.model }, pick(s));
      });
    engineGauge(C.workerRunning, (s) => s.running);
    engineGauge(C.workerWaiting, (s) => s.waiting);
    engineGauge(C.workerKvCacheUsage, (s) => s.kvCacheUsage);
    // GPU series exist only where nvidia-smi reports a GPU: absent, never zero, elsewhere.
    const gpuGauge = (spec: MetricSpec, pick: (g: GpuSample) => number | undefined) =>
      gauge<"gpu" | "name">(spec, r, async (set) => {
        for (const g of (await gpus.sample()) ?? []) {
          const v = pick(g);
          if (v !== undefined) set({ gpu: String(g.index), name: g.name }, v);
        }
      });
    gpuGauge(C.gpuMemoryUsed, (g) => g.memoryUsedBytes);
    gpuGauge(C.gpuMemoryTotal, (g) => g.memoryTotalBytes);
    gpuGauge(C.gpuUtilization, (g) => g.utilization);
    gpuGauge(C.gpuPower, (g) => g.powerWatts);
  }
}
