/**
 * Worker overhead: single-stream decode tokens/s over HTTP (a worker process) against the same
 * model driven directly through node-llama-cpp in this process. Runs alternate, median of N.
 *
 *   npm run build && npx tsx bench/worker-overhead.ts [--model synthetic:llama-100m] [--tokens 256]
 */
import { parseArgs } from "node:util";
import { getLlama, type Token } from "node-llama-cpp";
import { readEnv } from "../src/config.js";
import { resolveModel } from "../src/models/resolve.js";
import { writeResult } from "./lib/result.js";
import { median, streamCompletion } from "./lib/stream.js";
import { startWorkerProcess } from "./lib/worker-process.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "synthetic:tiny" },
    tokens: { type: "string", default: "256" },
    repeats: { type: "string", default: "5" },
    parallel: { type: "string", default: "8" },
  },
});
const maxTokens = Number(values.tokens);
const repeats = Number(values.repeats);
const PROMPT = "Benchmarks of language model serving measure how quickly tokens come back to the client.";

const resolved = await resolveModel(values.model!, { cacheDir: readEnv().modelCacheDir });
const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, progressLogs: false });
const model = await llama.loadModel({ modelPath: resolved.path });
const context = await model.createContext({ sequences: 1, contextSize: 1024, threads: { ideal: 1, min: 1 } });
const sequence = context.getSequence();
const promptTokens = [model.tokens.bos, ...model.tokenize(PROMPT)].filter((t): t is Token => t != null);

async function direct(): Promise<number> {
  await sequence.clearHistory();
  let n = 0;
  let first = 0;
  let last = 0;
  for await (const _token of sequence.evaluate(promptTokens, { temperature: 0, yieldEogToken: true })) {
    last = performance.now();
    if (n === 0) first = last;
    if (++n >= maxTokens) break;
  }
  return ((n - 1) * 1000) / (last - first);
}

const worker = await startWorkerProcess([
  "--model",
  values.model!,
  "--threads",
  "1",
  "--parallel",
  values.parallel!,
  "--ctx-size",
  "1024",
]);
try {
  await direct();
  await streamCompletion(worker.url, PROMPT, 16);
  const directRates: number[] = [];
  const httpRates: number[] = [];
  for (let i = 0; i < repeats; i++) {
    directRates.push(await direct());
    const r = await streamCompletion(worker.url, PROMPT, maxTokens);
    httpRates.push(((r.tokens - 1) * 1000) / r.decodeMs);
  }
  const d = median(directRates);
  const h = median(httpRates);
  console.log(`model ${values.model}, ${maxTokens} tokens, 1 thread, worker --parallel ${values.parallel}`);
  console.log(
    `direct node-llama-cpp: ${d.toFixed(1)} tok/s   worker over HTTP: ${h.toFixed(1)} tok/s   ratio ${(h / d).toFixed(3)}`,
  );
  writeResult("worker-overhead", {
    model: values.model,
    maxTokens,
    parallel: Number(values.parallel),
    directTokS: d,
    httpTokS: h,
    ratio: h / d,
    directRuns: directRates,
    httpRuns: httpRates,
  });
} finally {
  await worker.stop();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}
