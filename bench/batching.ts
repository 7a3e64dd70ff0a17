/**
 * What batching buys: aggregate decode tokens/s of N concurrent streams over that of one stream,
 * on one worker, measured in one run, and how many sequences the engine's decode steps carried
 * meanwhile (its /health `decode_steps`). Reported, never asserted: the ratio depends on the machine
 * and on whatever else runs on it.
 *
 *   npm run bench:batching -- [--model synthetic:tiny] [--streams 8] [--tokens 96] [--repeats 3]
 */
import { parseArgs } from "node:util";
import { writeResult } from "./lib/result.js";
import { median, streamCompletion } from "./lib/stream.js";
import { startWorkerProcess, type WorkerProcess } from "./lib/worker-process.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "synthetic:tiny" },
    streams: { type: "string", default: "8" },
    tokens: { type: "string", default: "96" },
    threads: { type: "string", default: "1" },
    repeats: { type: "string", default: "3" },
  },
});
const streams = Number(values.streams);
const maxTokens = Number(values.tokens);
const repeats = Number(values.repeats);
const PROMPT = "The quick brown fox jumps over the lazy dog while the band plays on.";

/** The worker's decode steps so far, by sequences per step. */
async function decodeSteps(worker: WorkerProcess): Promise<Map<number, number>> {
  const steps = ((await worker.health()).decode_steps ?? {}) as Record<string, number>;
  return new Map(Object.entries(steps).map(([n, c]) => [Number(n), c]));
}

/** Aggregate tokens/s of `n` streams started together, and the mean sequences per decode step. */
async function measure(worker: WorkerProcess, n: number): Promise<{ tokS: number; seqPerStep: number }> {
  const before = await decodeSteps(worker);
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, () => streamCompletion(worker.url, PROMPT, maxTokens)),
  );
  const wall = performance.now() - t0;
  const after = await decodeSteps(worker);
  let steps = 0;
  let sequenceSteps = 0;
  for (const [size, count] of after) {
    const d = count - (before.get(size) ?? 0);
    steps += d;
    sequenceSteps += size * d;
  }
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  return { tokS: (tokens * 1000) / wall, seqPerStep: steps > 0 ? sequenceSteps / steps : Number.NaN };
}

const worker = await startWorkerProcess([
  "--model",
  values.model!,
  "--parallel",
  String(streams),
  "--ctx-size",
  "1024",
  "--threads",
  values.threads!,
]);
try {
  await streamCompletion(worker.url, PROMPT, 8); // warm up
  const single: number[] = [];
  const batched: number[] = [];
  const ratios: number[] = [];
  const seqPerStep: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const one = await measure(worker, 1);
    const many = await measure(worker, streams);
    single.push(one.tokS);
    batched.push(many.tokS);
    ratios.push(many.tokS / one.tokS);
    seqPerStep.push(many.seqPerStep);
  }
  const figures = {
    model: values.model,
    streams,
    maxTokens,
    threads: values.threads,
    singleTokS: median(single),
    batchedTokS: median(batched),
    ratio: median(ratios),
    sequencesPerStep: median(seqPerStep),
    repeats,
  };
  console.log(
    `model ${figures.model}, ${maxTokens} tokens per stream, threads ${figures.threads}, median of ${repeats}`,
  );
  console.log(
    `1 stream ${figures.singleTokS.toFixed(1)} tok/s; ${streams} streams ${figures.batchedTokS.toFixed(1)} tok/s ` +
      `in aggregate (×${figures.ratio.toFixed(2)}), ${figures.sequencesPerStep.toFixed(2)} sequences per decode step`,
  );
  writeResult("batching", figures);
} finally {
  await worker.stop();
}
