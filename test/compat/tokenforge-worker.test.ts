/**
 * Compatibility row: a TokenForge worker hosting llama.cpp (synthetic:tiny), attached as any
 * OpenAI-compatible server would be. Its worker-protocol conformance runs in
 * test/conformance/llamacpp.test.ts; here, the benchmark.
 */
import { startTestWorker } from "../helpers/worker.js";
import { defineBenchmarkRow } from "./bench-row.js";

defineBenchmarkRow(
  "TokenForge llama.cpp worker (synthetic:tiny)",
  async () => {
    const worker = await startTestWorker({ parallel: 4, contextLength: 2048 });
    return { url: worker.url, model: "synthetic:tiny", close: () => worker.close() };
  },
  {
    endpoint: "completions",
    calibration: { source: "server-tokenize", tokenize: "vllm" },
    exactLengths: true,
    ignoreEosSent: true,
  },
);
