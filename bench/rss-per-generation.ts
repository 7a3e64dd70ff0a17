/**
 * Memory per completed generation on the llama.cpp engine: does the process grow with the number
 * of generations it has served, and where (JS heap, external buffers, or native memory)?
 *
 *   node --expose-gc --import tsx bench/rss-per-generation.ts [--via engine|http]
 *        [--model synthetic:tiny] [--rounds 5] [--per-round 100] [--concurrency 4] [--parallel 4]
 *        [--tokens 32] [--chat] [--stream] [--stop "x,y"] [--seed 1] [--warmup 20]
 *
 * `--via engine` calls the engine's generate() in this process with no HTTP; `--via http` starts
 * the worker (Fastify + engine) in this process and posts to /v1/completions (or
 * /v1/chat/completions with --chat). After a warm-up, each round runs `--per-round` generations,
 * `--concurrency` at a time, then (with --expose-gc) collects garbage twice and prints RSS,
 * heapUsed, external and arrayBuffers. The last line is RSS growth per generation over the rounds
 * after the first (least squares), which is what a leak shows as and allocator warm-up does not.
 */
import { parseArgs } from "node:util";
import { resolveModel } from "../src/models/resolve.js";
import { llamaCppRuntime } from "../src/runtimes/llamacpp/index.js";
import type { Engine, GenerateRequest } from "../src/spec/engine.js";
import { startWorker } from "../src/worker/server.js";
import { TEST_CACHE_DIR } from "../test/helpers/worker.js";

const { values } = parseArgs({
  options: {
    via: { type: "string", default: "engine" },
    model: { type: "string", default: "synthetic:tiny" },
    rounds: { type: "string", default: "5" },
    "per-round": { type: "string", default: "100" },
    concurrency: { type: "string", default: "4" },
    parallel: { type: "string", default: "4" },
    tokens: { type: "string", default: "32" },
    chat: { type: "boolean", default: false },
    stream: { type: "boolean", default: false },
    stop: { type: "string", default: "" },
    seed: { type: "string", default: "1" },
    temperature: { type: "string", default: "1" },
    "max-queue-ms": { type: "string", default: "" },
    warmup: { type: "string", default: "20" },
    // With --expose-gc: collect only after the last round, to see what the rounds' climb returns.
    "gc-at-end": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(values.rounds);
const PER_ROUND = Number(values["per-round"]);
const CONCURRENCY = Number(values.concurrency);
const PARALLEL = Number(values.parallel);
const TOKENS = Number(values.tokens);
const STOP = values.stop === "" ? [] : values.stop.split(",");
const SEED = Number(values.seed);
const TEMPERATURE = Number(values.temperature);
const MAX_QUEUE_MS = values["max-queue-ms"] === "" ? undefined : Number(values["max-queue-ms"]);
const TEXT = "Benchmarks of language model serving measure how quickly tokens come back to the client.";

const exposedGc = (globalThis as { gc?: () => void }).gc;
let gc = values["gc-at-end"] ? undefined : exposedGc;
const MB = 1024 * 1024;

/** One request; false when it was refused (429). */
type Generate = (i: number) => Promise<boolean>;
/** Requests refused with 429 (only with --max-queue-ms); the rounds count the served ones. */
let refused = 0;
/** Requests sent so far: each one's prompt and seed differ by it. */
let issued = 0;

async function viaEngine(): Promise<{ run: Generate; close: () => Promise<void> }> {
  const model = await resolveModel(values.model, { cacheDir: TEST_CACHE_DIR });
  const { createLlamaCppEngine } = await import("../src/runtimes/llamacpp/engine.js");
  const engine: Engine = await createLlamaCppEngine({
    model,
    parallel: PARALLEL,
    contextLength: 512,
    threads: 1,
    batchSize: undefined,
    gpu: false,
  });
  const run: Generate = async (i) => {
    const req: GenerateRequest = {
      prompt: values.chat
        ? { kind: "messages", messages: [{ role: "user", content: `${TEXT} ${i}` }] }
        : { kind: "text", text: `${TEXT} ${i}` },
      maxTokens: TOKENS,
      temperature: TEMPERATURE,
      topP: 1,
      seed: SEED + i,
      stop: STOP,
      ignoreEos: true,
      signal: new AbortController().signal,
    };
    for await (const ev of engine.generate(req)) if (ev.type === "finish") break;
    return true;
  };
  return { run, close: () => engine.close() };
}

async function viaHttp(): Promise<{ run: Generate; close: () => Promise<void> }> {
  const worker = await startWorker({
    runtime: llamaCppRuntime({ command: process.execPath, args: [] }),
    resolveModel: () => resolveModel(values.model, { cacheDir: TEST_CACHE_DIR }),
    engine: { parallel: PARALLEL, contextLength: 512, threads: 1, batchSize: undefined, gpu: false },
    host: "127.0.0.1",
    port: 0,
    // Every request waits its turn unless --max-queue-ms is given; then some are refused (429),
    // and only the served ones are counted.
    limits: { maxWaiting: 10_000, maxQueueMs: MAX_QUEUE_MS },
  });
  await worker.loaded;
  if (worker.holder.state.status !== "ready") throw new Error(JSON.stringify(worker.holder.state));
  const path = values.chat ? "/v1/chat/completions" : "/v1/completions";
  const run: Generate = async (i) => {
    const body = {
      model: values.model,
      ...(values.chat
        ? { messages: [{ role: "user", content: `${TEXT} ${i}` }] }
        : { prompt: `${TEXT} ${i}` }),
      max_tokens: TOKENS,
      temperature: TEMPERATURE,
      seed: SEED + i,
      ignore_eos: true,
      stream: values.stream,
      ...(STOP.length > 0 ? { stop: STOP } : {}),
    };
    const res = await fetch(`${worker.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await res.text();
    if (res.status === 429) {
      refused++;
      return false;
    }
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    return true;
  };
  return { run, close: () => worker.close() };
}

/** Runs generations `concurrency` at a time until `count` more have been served; returns how many were. */
async function runMany(run: Generate, count: number): Promise<number> {
  let served = 0;
  let started = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      // Stop starting new ones once enough are in flight to finish the round.
      while (started < count) {
        started++;
        if (await run(issued++)) served++;
        else {
          started--;
          // A refused client backs off a little instead of spinning on 429s.
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  return served;
}

function sample(): { rss: number; heap: number; heapTotal: number; external: number; arrayBuffers: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return {
    rss: m.rss / MB,
    heap: m.heapUsed / MB,
    heapTotal: m.heapTotal / MB,
    external: m.external / MB,
    arrayBuffers: m.arrayBuffers / MB,
  };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const { run, close } = values.via === "http" ? await viaHttp() : await viaEngine();
const label = `via=${values.via} chat=${values.chat} stream=${values.stream} stop=${STOP.length} tokens=${TOKENS} temperature=${TEMPERATURE} concurrency=${CONCURRENCY} parallel=${PARALLEL} max-queue-ms=${MAX_QUEUE_MS ?? "none"}`;
console.log(`${label}${gc ? "" : " (no --expose-gc: figures include uncollected garbage)"}`);
await runMany(run, Number(values.warmup));
const start = sample();
console.log(
  `round 0: generations 0 rss ${start.rss.toFixed(1)} MB heapUsed ${start.heap.toFixed(1)} heapTotal ${start.heapTotal.toFixed(1)} external ${start.external.toFixed(1)} arrayBuffers ${start.arrayBuffers.toFixed(1)}`,
);
const xs: number[] = [];
const ys: number[] = [];
let done = 0;
const t0 = Date.now();
for (let r = 1; r <= ROUNDS; r++) {
  done += await runMany(run, PER_ROUND);
  const s = sample();
  if (r > 1) {
    xs.push(done);
    ys.push(s.rss);
  }
  console.log(
    `round ${r}: generations ${done} rss ${s.rss.toFixed(1)} MB heapUsed ${s.heap.toFixed(1)} heapTotal ${s.heapTotal.toFixed(1)} external ${s.external.toFixed(1)} arrayBuffers ${s.arrayBuffers.toFixed(1)} refused ${refused} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
}
gc = exposedGc;
const end = sample();
if (values["gc-at-end"]) {
  console.log(
    `after gc: rss ${end.rss.toFixed(1)} MB heapUsed ${end.heap.toFixed(1)} heapTotal ${end.heapTotal.toFixed(1)} external ${end.external.toFixed(1)}`,
  );
}
console.log(
  `growth: ${(((end.rss - start.rss) * 1024) / done).toFixed(1)} KB RSS per generation overall, ${(slope(xs, ys) * 1024).toFixed(1)} KB per generation after round 1; heapUsed ${(((end.heap - start.heap) * 1024) / done).toFixed(1)} KB per generation`,
);
await close();
