/** The simulated server (`tokenforge sim`, as a child process) against the worker-protocol suite. */
import { startSimChild } from "../helpers/sim.js";
import { defineConformance, metricValue } from "./suite.js";

defineConformance("sim", async () => {
  // 2 ms per token: short requests stay short, and a 1,000-token stream is still running when
  // the disconnect test leaves it.
  const sim = await startSimChild({ itlMs: 2, model: "sim-model", noGroundTruth: true });
  return {
    url: sim.url,
    model: "sim-model",
    close: () => sim.stop(),
    capabilities: {
      tokenize: true,
      checksModel: true,
      runningRequests: (t) => metricValue(t, "sim_requests_running"),
      healthWhileLoading: "the simulator has no model to load: it is ready as soon as it listens",
    },
  };
});

// The same server timed by a performance model: continuous batching, a batch of 4 (so the
// concurrency test fills it) and a KV cache with room for a long stream; the running count comes
// from the engine's own scheduler.
defineConformance("sim --perf", async () => {
  const sim = await startSimChild({
    model: "sim-model",
    noGroundTruth: true,
    perf: {
      prefill_tokens_per_s: 50_000,
      prefill_overhead_ms: 1,
      decode: { base_ms: 1.5, per_seq_ms: 0.25 },
      max_batch: 4,
      kv_cache_tokens: 16_384,
    },
  });
  return {
    url: sim.url,
    model: "sim-model",
    close: () => sim.stop(),
    capabilities: {
      tokenize: true,
      checksModel: true,
      runningRequests: (t) => metricValue(t, "tokenforge:num_requests_running"),
      healthWhileLoading: "the simulator has no model to load: it is ready as soon as it listens",
    },
  };
});
