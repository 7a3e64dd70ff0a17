/**
 * Compatibility row: Hugging Face TGI's OpenAI routes, through a stand-in
 * (test/helpers/standins/tgi.ts): its own /tokenize dialect, no ignore_eos.
 */
import { defineConformance } from "../conformance/suite.js";
import type { StandIn } from "../helpers/standins/openai-like.js";
import { startTgiStandIn } from "../helpers/standins/tgi.js";
import { defineBenchmarkRow } from "./bench-row.js";

defineConformance("tgi (stand-in)", async () => {
  const s: StandIn = await startTgiStandIn();
  return {
    url: s.url,
    model: "tgi",
    close: () => s.close(),
    capabilities: {
      tokenize: "TGI's /tokenize takes {inputs} and answers a list of tokens, not vLLM's shape",
      checksModel: "TGI serves the one model it was started with and ignores a request's model",
      runningRequests: async () => s.running,
      healthWhileLoading: "a stand-in has no model to load",
      ignoreEos: "TGI's OpenAI routes have no ignore_eos: output stops at the model's end token",
    },
  };
});

defineBenchmarkRow(
  "TGI (stand-in)",
  async () => {
    const s = await startTgiStandIn();
    return { url: s.url, model: "tgi", close: () => s.close() };
  },
  {
    endpoint: "completions",
    calibration: { source: "server-tokenize", tokenize: "tgi", overhead: 1 },
    passedOver: [/in vllm's shape: no count/, /in llama\.cpp's shape: no count/],
    exactLengths: false,
    ignoreEosSent: true,
  },
);
