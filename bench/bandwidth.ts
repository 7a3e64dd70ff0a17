/**
 * Decode speed against the memory-bandwidth bound. Decoding one token reads every weight once
 * (the embedding table only one row, unless it doubles as the output matrix), so one stream can
 * decode at most bandwidth / bytes-per-token tokens per second. Bandwidth is measured here with
 * memcmp over two large buffers (native, read-only, one thread, like decode at --threads 1).
 *
 *   npm run build && npx tsx bench/bandwidth.ts [--model synthetic:llama-100m]
 */
import { parseArgs } from "node:util";
import { gguf } from "@huggingface/gguf";
import { readEnv } from "../src/config.js";
import { resolveModel } from "../src/models/resolve.js";
import { writeResult } from "./lib/result.js";
import { median, streamCompletion } from "./lib/stream.js";
import { startWorkerProcess } from "./lib/worker-process.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "synthetic:llama-100m" },
    tokens: { type: "string", default: "128" },
  },
});

function readBandwidth(): number {
  const size = 512 * 1024 * 1024;
  const a = Buffer.alloc(size, 7);
  const b = Buffer.alloc(size, 7);
  const rates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    if (a.compare(b) !== 0) throw new Error("buffers differ");
    rates.push((2 * size) / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

const resolved = await resolveModel(values.model!, { cacheDir: readEnv().modelCacheDir });
const { tensorInfos } = await gguf(resolved.path, { allowLocalFile: true });
const tensorBytes = (await import("node:fs")).statSync(resolved.path).size;
// Bytes of weights read per token: the file's tensors minus the embedding table, which is read
// one row at a time, unless the model has no output matrix and multiplies by the embedding.
const hasOutput = tensorInfos.some((t) => t.name === "output.weight");
const embdShare = (() => {
  const total = tensorInfos.reduce((a, t) => a + t.shape.reduce((x, y) => x * Number(y), 1), 0);
  const embd = tensorInfos.find((t) => t.name === "token_embd.weight");
  return embd ? embd.shape.reduce((x, y) => x * Number(y), 1) / total : 0;
})();
const bytesPerToken = hasOutput ? tensorBytes * (1 - embdShare) : tensorBytes;

const bandwidth = readBandwidth();
const worker = await startWorkerProcess([
  "--model",
  values.model!,
  "--threads",
  "1",
  "--parallel",
  "1",
  "--ctx-size",
  "512",
]);
try {
  const prompt = "Memory bandwidth bounds decode speed.";
  await streamCompletion(worker.url, prompt, 8);
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await streamCompletion(worker.url, prompt, Number(values.tokens));
    rates.push(((r.tokens - 1) * 1000) / r.decodeMs);
  }
  const tokS = median(rates);
  const bound = bandwidth / bytesPerToken;
  console.log(
    `model ${values.model}: ${(bytesPerToken / 1e6).toFixed(1)} MB read per token; ` +
      `read bandwidth ${(bandwidth / 1e9).toFixed(2)} GB/s → bound ${bound.toFixed(1)} tok/s; ` +
      `measured ${tokS.toFixed(1)} tok/s = ${((100 * tokS) / bound).toFixed(1)} % of the bound`,
  );
  writeResult("bandwidth", {
    model: values.model,
    bytesPerToken,
    bandwidthBytesPerS: bandwidth,
    boundTokS: bound,
    tokS,
    fraction: tokS / bound,
  });
} finally {
  await worker.stop();
}
