/**
 * Which thread count decodes fastest on this machine: a worker at 1, 2, … threads, with 1 and 8
 * streams, on an idle machine and with one other busy process (as when the benchmark client or a
 * second worker runs beside it). The worker's default comes from these figures.
 *
 *   npm run build && npx tsx bench/threads.ts [--model synthetic:tiny]
 */
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { writeResult } from "./lib/result.js";
import { median, streamCompletion } from "./lib/stream.js";
import { startWorkerProcess } from "./lib/worker-process.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "synthetic:tiny" },
    tokens: { type: "string", default: "128" },
    repeats: { type: "string", default: "3" },
  },
});
const maxTokens = Number(values.tokens);
const PROMPT = "Benchmarks of language model serving measure how quickly tokens come back to the client.";
const threadCounts = [...new Set([1, 2, cpus().length])].filter((n) => n <= cpus().length);

async function measure(threads: number, streams: number): Promise<number> {
  const worker = await startWorkerProcess([
    "--model",
    values.model!,
    "--threads",
    String(threads),
    "--parallel",
    "8",
    "--ctx-size",
    "1024",
  ]);
  try {
    await streamCompletion(worker.url, PROMPT, 16);
    const rates: number[] = [];
    for (let r = 0; r < Number(values.repeats); r++) {
      const t0 = performance.now();
      const res = await Promise.all(
        Array.from({ length: streams }, () => streamCompletion(worker.url, PROMPT, maxTokens)),
      );
      rates.push((res.reduce((a, x) => a + x.tokens, 0) * 1000) / (performance.now() - t0));
    }
    return median(rates);
  } finally {
    await worker.stop();
  }
}

const rows: { load: string; threads: number; streams: number; tokS: number }[] = [];
for (const load of ["idle", "one busy process"]) {
  const spinner =
    load === "idle" ? undefined : spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" });
  try {
    for (const threads of threadCounts) {
      for (const streams of [1, 8]) {
        const tokS = await measure(threads, streams);
        rows.push({ load, threads, streams, tokS });
        console.log(`${load.padEnd(17)} threads ${threads}  streams ${streams}  ${tokS.toFixed(1)} tok/s`);
      }
    }
  } finally {
    spinner?.kill();
  }
}
writeResult("threads", { model: values.model, maxTokens, cpus: cpus().length, rows });
