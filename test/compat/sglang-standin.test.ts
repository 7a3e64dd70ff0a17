/**
 * Compatibility row: SGLang's OpenAI routes, through a stand-in
 * (test/helpers/standins/sglang.ts): vLLM's /tokenize shape, ignore_eos honoured.
 */
import { defineConformance } from "../conformance/suite.js";
import { startSglangStandIn } from "../helpers/standins/sglang.js";
import { defineBenchmarkRow } from "./bench-row.js";

defineConformance("sglang (stand-in)", async () => {
  const s = await startSglangStandIn();
  return {
    url: s.url,
    model: "sglang-model",
    close: () => s.close(),
    capabilities: {
      tokenize: true,
      checksModel: "the stand-in does not imitate SGLang's answer to an unknown model name",
      runningRequests: async () => s.running,
      healthWhileLoading: "a stand-in has no model to load",
    },
  };
});

defineBenchmarkRow(
  "SGLang (stand-in)",
  async () => {
    const s = await startSglangStandIn();
    return { url: s.url, model: "sglang-model", close: () => s.close() };
  },
  {
    endpoint: "completions",
    calibration: { source: "server-tokenize", tokenize: "vllm", overhead: 1 },
    exactLengths: true,
    ignoreEosSent: true,
  },
);
