/**
 * The worker-protocol suite against the vLLM stand-in (test/helpers/vllm-standin.ts): vLLM's
 * endpoints, /tokenize shape and metric names, in-process; not real vLLM, which cannot run here
 * (no GPU, no PyPI).
 */
import { startVllmStandIn } from "../helpers/vllm-standin.js";
import { defineConformance, metricValue } from "./suite.js";

defineConformance("vllm (stand-in)", async () => {
  const standIn = await startVllmStandIn({
    model: "vllm-model",
    itlMs: 2,
    maxNumSeqs: 8,
    kvCapacityTokens: 1 << 20,
  });
  return {
    url: standIn.url,
    model: "vllm-model",
    close: () => standIn.close(),
    capabilities: {
      tokenize: true,
      checksModel: true,
      runningRequests: (t) => metricValue(t, "vllm:num_requests_running"),
      healthWhileLoading: "the stand-in has no model to load: it is ready as soon as it listens",
    },
  };
});
