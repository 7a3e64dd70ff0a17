/**
 * Aggregate decode tokens/s of one worker at 1, 4, 8 and 16 concurrent streams, and the worker's
 * resident memory beyond the model's own (weights + KV cache), idle and under 16 streams.
 *
 *   npm run build && npx tsx bench/worker-throughput.ts [--model synthetic:tiny] [--tokens 128]
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeResult } from "./lib/result.js";
import { median, streamCompletion } from "./lib/stream.js";
import { startWorkerProcess } from "./lib/worker-process.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "synthetic:tiny" },
    tokens: { type: "string", default: "128" },
    threads: { type: "string", default: "1" },
    repeats: { type: "string", default: "3" },
  },
});
const maxTokens = Number(values.tokens);
const repeats = Number(values.repeats);
const PROMPT = "Benchmarks of language model serving measure how quickly tokens come back to the client.";

const worker = await startWorkerProcess([
  "--model",
  values.model!,
  "--parallel",
  "16",
  "--ctx-size",
  "1024",
  "--threads",
  values.threads!,
]);
try {
  const health = await worker.health();
  const details = health.details as { modelBytes: number; kvCacheBytes: number };
  const vocabBytes = Number(
    execFileSync(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "lib", "vocab-rss.ts"), String(health.modelPath)],
      {
        encoding: "utf8",
      },
    ).trim(),
  );
  const modelAndKv = details.modelBytes + details.kvCacheBytes;
  await streamCompletion(worker.url, PROMPT, 16); // warm up
  const idleRss = worker.rssBytes();

  const rows: { streams: number; aggregateTokS: number; perStreamTokS: number; ttftMsP50: number }[] = [];
  let peakRss = idleRss;
  for (const streams of [1, 4, 8, 16]) {
    const rates: number[] = [];
    const perStream: number[] = [];
    const ttfts: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, worker.rssBytes());
      }, 25);
      const t0 = performance.now();
      const results = await Promise.all(
        Array.from({ length: streams }, () => streamCompletion(worker.url, PROMPT, maxTokens)),
      );
      const wall = performance.now() - t0;
      clearInterval(sampler);
      const tokens = results.reduce((a, x) => a + x.tokens, 0);
      rates.push((tokens * 1000) / wall);
      perStream.push(median(results.map((x) => ((x.tokens - 1) * 1000) / x.decodeMs)));
      ttfts.push(median(results.map((x) => x.ttftMs)));
    }
    rows.push({
      streams,
      aggregateTokS: median(rates),
      perStreamTokS: median(perStream),
      ttftMsP50: median(ttfts),
    });
  }

  const mb = (b: number) => b / 1024 / 1024;
  console.log(
    `model ${values.model}, ${maxTokens} tokens per stream, threads ${values.threads}, median of ${repeats}`,
  );
  console.log("streams  aggregate tok/s  per-stream tok/s  TTFT p50 ms");
  for (const r of rows) {
    console.log(
      `${String(r.streams).padStart(7)}  ${r.aggregateTokS.toFixed(1).padStart(15)}  ${r.perStreamTokS.toFixed(1).padStart(16)}  ${r.ttftMsP50.toFixed(1).padStart(11)}`,
    );
  }
  const memory = {
    modelMiB: mb(details.modelBytes),
    kvCacheMiB: mb(details.kvCacheBytes),
    idleRssMiB: mb(idleRss),
    peakRssMiB: mb(peakRss),
    idleOverheadMiB: mb(idleRss - modelAndKv),
    loadedOverheadMiB: mb(peakRss - modelAndKv),
    vocabularyMiB: mb(vocabBytes),
    loadedOverheadWithoutVocabularyMiB: mb(peakRss - modelAndKv - vocabBytes),
    nodeBaselineMiB: mb(
      Number(
        execFileSync(
          process.execPath,
          ["--experimental-strip-types", join(import.meta.dirname, "lib", "baseline-rss.ts")],
          {
            encoding: "utf8",
          },
        ).trim(),
      ),
    ),
  };
  console.log(
    `memory: model ${memory.modelMiB.toFixed(1)} MiB + KV cache ${memory.kvCacheMiB.toFixed(1)} MiB; ` +
      `RSS idle ${memory.idleRssMiB.toFixed(1)} MiB, peak under 16 streams ${memory.peakRssMiB.toFixed(1)} MiB; ` +
      `beyond model+KV: idle ${memory.idleOverheadMiB.toFixed(1)} MiB, loaded ${memory.loadedOverheadMiB.toFixed(1)} MiB, ` +
      `of which llama.cpp's vocabulary ${memory.vocabularyMiB.toFixed(1)} MiB; ` +
      `a Node process with the worker's libraries and no model: ${memory.nodeBaselineMiB.toFixed(1)} MiB`,
  );
  writeResult("worker-throughput", {
    model: values.model,
    maxTokens,
    threads: values.threads,
    health,
    rows,
    memory,
  });
} finally {
  await worker.stop();
}
