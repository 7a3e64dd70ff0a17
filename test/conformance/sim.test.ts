/** The simulated server (`tokenforge sim`, as a child process) against the worker-protocol suite. */
import { type SimChildOptions, startSimChild } from "../helpers/sim.js";
import { type ConformanceTarget, defineConformance, metricValue } from "./suite.js";

/** A sim child serving `sim-model`; `running` names the /metrics gauge of requests in progress. */
async function simTarget(options: SimChildOptions, running: string): Promise<ConformanceTarget> {
  const sim = await startSimChild({ ...options, model: "sim-model", noGroundTruth: true });
  return {
    url: sim.url,
    model: "sim-model",
    close: () => sim.stop(),
    capabilities: {
      tokenize: true,
      checksModel: true,
      runningRequests: (t) => metricValue(t, running),
      healthWhileLoading: "the simulator has no model to load: it is ready as soon as it listens",
    },
  };
}

// 2 ms per token: short requests stay short, and a 1,000-token stream is still running when the
// disconnect test leaves it.
defineConformance("sim", () => simTarget({ itlMs: 2 }, "sim_requests_running"));

// The same server timed by a performance model: continuous batching, a batch of 4 (so the
// concurrency test fills it) and a KV cache with room for a long stream; the running count comes
// from the engine's own scheduler.
defineConformance("sim --perf", () =>
  simTarget(
    {
      perf: {
        prefill_tokens_per_s: 50_000,
        prefill_overhead_ms: 1,
        decode: { base_ms: 1.5, per_seq_ms: 0.25 },
        max_batch: 4,
        kv_cache_tokens: 16_384,
      },
    },
    "tokenforge:num_requests_running",
  ),
);
