/**
 * Compatibility row: llama.cpp's own llama-server, the real one, on synthetic:tiny, where it has
 * been built here (llama-server.ts says where it looks); skipped with the reason printed when it
 * has not. Its `/tokenize` answers vLLM's request shape with 200 and no tokens: calibration must
 * pass that over and count with llama.cpp's own shape.
 */
import { describe, it } from "vitest";
import { defineConformance, metricValue } from "../conformance/suite.js";
import { defineBenchmarkRow } from "./bench-row.js";
import { findLlamaServer, startLlamaServer } from "./llama-server.js";

const found = findLlamaServer();

if ("reason" in found) {
  describe("compatibility: llama-server (real)", () => {
    it("is built on this machine", (ctx) => {
      console.info(`[compat llama-server] skipped: ${found.reason}`);
      ctx.skip(found.reason);
    });
  });
} else {
  const binary = found.path;
  defineConformance("llama-server (real)", async () => {
    const s = await startLlamaServer(binary);
    return {
      url: s.url,
      model: "synthetic:tiny",
      close: () => s.close(),
      capabilities: {
        tokenize: "llama-server's /tokenize takes {content}, not vLLM's shape",
        checksModel: "llama-server serves the model it loaded whatever a request names",
        runningRequests: (t) => metricValue(t, "llamacpp:requests_processing"),
        healthWhileLoading: "TokenForge does not hold a llama-server in loading",
        usageChunk:
          "llama-server puts a completions stream's usage on its last chunk, beside finish_reason and an empty text",
        errorParam: "llama-server's errors have no param; the message names the field",
      },
    };
  });

  defineBenchmarkRow(
    "llama-server (real)",
    async () => {
      const s = await startLlamaServer(binary);
      return { url: s.url, model: "synthetic:tiny", close: () => s.close() };
    },
    {
      endpoint: "completions",
      calibration: { source: "server-tokenize", tokenize: "llama.cpp" },
      passedOver: [/in vllm's shape: a count of 0 for a 1-word probe/],
      exactLengths: true,
      ignoreEosSent: true,
    },
  );
}
