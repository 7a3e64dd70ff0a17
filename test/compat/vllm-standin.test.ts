/**
 * Compatibility row: vLLM, through its stand-in (test/helpers/vllm-standin.ts; real vLLM needs a
 * GPU and PyPI). Its worker-protocol conformance runs in test/conformance/vllm.test.ts; here, the
 * benchmark.
 */
import { startVllmStandIn } from "../helpers/vllm-standin.js";
import { defineBenchmarkRow } from "./bench-row.js";

defineBenchmarkRow(
  "vLLM (stand-in)",
  async () => {
    const s = await startVllmStandIn({ model: "vllm-model", itlMs: 1, maxNumSeqs: 8 });
    return { url: s.url, model: "vllm-model", close: () => s.close() };
  },
  {
    endpoint: "completions",
    // The stand-in counts words, with no BOS token.
    calibration: { source: "server-tokenize", tokenize: "vllm", overhead: 0 },
    exactLengths: true,
    ignoreEosSent: true,
  },
);
