/**
 * Compatibility row: Ollama's OpenAI routes under /v1, through a stand-in
 * (test/helpers/standins/ollama.ts): no /tokenize, no /health, no ignore_eos.
 */
import { defineConformance } from "../conformance/suite.js";
import { startOllamaStandIn } from "../helpers/standins/ollama.js";
import { defineBenchmarkRow } from "./bench-row.js";

const NO_TOKENIZE = /no count for a 1-word probe/;

defineConformance("ollama (stand-in)", async () => {
  const s = await startOllamaStandIn();
  return {
    url: s.url,
    model: "llama3.2:1b",
    close: () => s.close(),
    capabilities: {
      tokenize: "Ollama has no /tokenize",
      health: "Ollama has no /health (its root answers instead)",
      checksModel: true,
      runningRequests: async () => s.running,
      healthWhileLoading: "a stand-in has no model to load",
      ignoreEos: "Ollama's OpenAI routes have no ignore_eos: output stops at the model's end token",
    },
  };
});

defineBenchmarkRow(
  "Ollama (stand-in)",
  async () => {
    const s = await startOllamaStandIn();
    return { url: s.url, model: "llama3.2:1b", close: () => s.close() };
  },
  {
    endpoint: "completions",
    calibration: { source: "server-usage", overhead: 1 },
    passedOver: [NO_TOKENIZE],
    exactLengths: false,
    ignoreEosSent: true,
  },
);
