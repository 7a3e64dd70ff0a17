/** `tokenforge worker`: serve one model over the worker protocol. */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { TokenForgeEnv } from "../config.js";
import { parseModelRef } from "../models/reference.js";
import { resolveModel } from "../models/resolve.js";
import { LLAMA_BINARIES, type LlamaBinary } from "../runtimes/llamacpp/binary-choice.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import {
  DEFAULT_CHAT_MAX_TOKENS,
  DEFAULT_MAX_PROMPT_BYTES,
  DEFAULT_WAITING_PER_SEQUENCE,
} from "../worker/limits.js";
import { startWorker } from "../worker/server.js";
import { oneOf, port, positiveInt } from "./parse.js";
import { byteProgress } from "./progress.js";

interface WorkerFlags {
  runtime: string;
  model: string;
  host: string;
  port: number;
  parallel: number;
  ctxSize?: number;
  threads?: number;
  batchSize?: number;
  gpu: "auto" | "off";
  llamaBinary: LlamaBinary;
  maxWaiting?: number;
  maxQueueMs?: number;
  maxPromptBytes: number;
  defaultMaxTokens: number;
  apiKey?: string;
  log: boolean;
}

/** `--max-waiting 0` is meaningful (no queue at all), so zero is allowed here. */
function countArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  }
  return n;
}

export function registerWorkerCommand(program: Command, env: TokenForgeEnv, runtimes: RuntimeRegistry): void {
  program
    .command("worker")
    .description("serve a model over the OpenAI-compatible worker protocol")
    .option("--runtime <name>", `engine (${runtimes.names().join(", ")})`, "llamacpp")
    .option("--model <ref>", "synthetic:<preset>[?quant=&seed=&ctx=] or a GGUF path", "synthetic:tiny")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", port, 8000)
    .option("--parallel <n>", "sequences generated together in one batch", positiveInt, 8)
    .option("--ctx-size <n>", "context length per sequence (default: the model's, at most 4096)", positiveInt)
    .option("--batch-size <n>", "tokens per decode call (default 512)", positiveInt)
    .option("--threads <n>", "CPU threads (default: measured, see BENCHMARKS.md)", positiveInt)
    .option(
      "--gpu <mode>",
      "auto uses a GPU when present; off forces CPU",
      oneOf(["auto", "off"] as const),
      "auto",
    )
    .option(
      "--llama-binary <which>",
      "llama.cpp build: native (made by `tokenforge llamacpp build` for this CPU; CPU only), prebuilt (node-llama-cpp's), auto (native when present, after a GPU build on a GPU machine)",
      oneOf(LLAMA_BINARIES),
      env.llamaBinary,
    )
    .option(
      "--max-waiting <n>",
      `requests queued beyond the running sequences; more get 429 (default: ${DEFAULT_WAITING_PER_SEQUENCE} × --parallel)`,
      countArg,
    )
    .option(
      "--max-queue-ms <ms>",
      "refuse (429) a request whose expected wait for a sequence is past this, and one still waiting then (default: no budget)",
      positiveInt,
    )
    .option(
      "--max-prompt-bytes <n>",
      "prompts larger than this (UTF-8 bytes) get 413 before tokenizing",
      positiveInt,
      DEFAULT_MAX_PROMPT_BYTES,
    )
    .option(
      "--default-max-tokens <n>",
      "max_tokens of a chat request that names none (cut to what is left of the context)",
      positiveInt,
      DEFAULT_CHAT_MAX_TOKENS,
    )
    .option(
      "--api-key <key>",
      "require this key (Authorization: Bearer) on every route but /health and /metrics (default $TOKENFORGE_WORKER_API_KEY)",
    )
    .option("--log", "log every request", false)
    .action(async (flags: WorkerFlags) => {
      const runtime = runtimes.get(flags.runtime);
      // A bad reference is the user's mistake: refuse it before listening, with exit code 2.
      parseModelRef(flags.model);
      const worker = await startWorker({
        runtime,
        resolveModel: () =>
          resolveModel(flags.model, {
            cacheDir: env.modelCacheDir,
            onProgress: byteProgress(`writing ${flags.model}`),
          }),
        engine: {
          parallel: flags.parallel,
          contextLength: flags.ctxSize,
          threads: flags.threads ?? env.threads,
          batchSize: flags.batchSize,
          gpu: flags.gpu === "off" ? false : "auto",
          binary: flags.llamaBinary,
        },
        host: flags.host,
        port: flags.port,
        limits: {
          maxWaiting: flags.maxWaiting,
          maxQueueMs: flags.maxQueueMs,
          maxPromptBytes: flags.maxPromptBytes,
          defaultMaxTokens: flags.defaultMaxTokens,
        },
        ...((flags.apiKey ?? env.workerApiKey) ? { apiKey: (flags.apiKey ?? env.workerApiKey)! } : {}),
        logger: flags.log,
      });
      process.stderr.write(`worker listening on ${worker.url} (loading ${flags.model})\n`);
      let closing = false;
      const stop = async () => {
        if (closing) return;
        closing = true;
        await worker.close();
        process.exit(0);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      await worker.loaded;
      const state = worker.holder.state;
      if (state.status === "failed") {
        process.stderr.write(`error: ${state.error}\n`);
        await worker.close();
        process.exitCode = 1;
        return;
      }
      if (state.status === "ready") {
        const i = state.engine.info;
        process.stderr.write(
          `ready: ${i.model} on ${i.device}, ${i.threads} thread(s), ${i.parallel} sequences × ${i.contextLength} tokens (${state.loadSeconds.toFixed(1)} s)\n`,
        );
        if (i.details?.binary === "prebuilt" && i.device === "cpu" && flags.llamaBinary === "auto") {
          process.stderr.write(
            "note: llama.cpp runs from node-llama-cpp's prebuilt binary; `tokenforge llamacpp build` compiles one for this CPU, which decoded batches up to about twice as fast where measured (README)\n",
          );
        }
      }
    });
}
