/**
 * Where a llama.cpp worker's memory goes, step by step in one Node process: resident memory
 * (anonymous and file-backed, from /proc/self/smaps_rollup) and V8's heap after starting, importing
 * node-llama-cpp, loading llama.cpp, the model, a context of 16 × 1024 cells, and one generation.
 *
 *   node bench/memory-stages.ts <model.gguf>   (plain node, so no TypeScript loader adds to the figures)
 */
import { readFileSync } from "node:fs";

function mem(label: string) {
  const s = readFileSync("/proc/self/smaps_rollup", "utf8");
  const kb = (k: string) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+)`, "m"))![1]) / 1024;
  const m = process.memoryUsage();
  console.log(
    `${label.padEnd(28)} rss ${kb("Rss").toFixed(0)} anon ${kb("Anonymous").toFixed(0)} file ${(kb("Rss") - kb("Anonymous")).toFixed(0)} | v8 heapUsed ${(m.heapUsed / 2 ** 20).toFixed(0)} heapTotal ${(m.heapTotal / 2 ** 20).toFixed(0)} external ${(m.external / 2 ** 20).toFixed(0)} arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)}`,
  );
}
mem("start");
const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
mem("import node-llama-cpp");
const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  progressLogs: false,
  skipDownload: true,
  logLevel: LlamaLogLevel.error,
});
mem("getLlama");
const model = await llama.loadModel({ modelPath: process.argv[2]! });
mem("loadModel");
const ctx = await model.createContext({
  sequences: 16,
  contextSize: 1024,
  threads: { ideal: 1, min: 1 },
  batchSize: 512,
});
mem("createContext");
const seq = ctx.getSequence();
const toks = model.tokenize("The quick brown fox jumps over the lazy dog while the band plays on");
let n = 0;
for await (const _token of seq.evaluate(toks, { temperature: 0 })) {
  if (++n >= 8) break;
}
mem("after one generation");
