/** Starts a real worker (llama.cpp on a synthetic model) on a free port for a test file. */
import { join } from "node:path";
import { resolveModel } from "../../src/models/resolve.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import type { WorkerLimits } from "../../src/worker/limits.js";
import { type RunningWorker, startWorker } from "../../src/worker/server.js";

export const TEST_CACHE_DIR = join(import.meta.dirname, "..", "..", ".tokenforge", "test-models");

export async function startTestWorker(
  options: { model?: string; parallel?: number; contextLength?: number; limits?: WorkerLimits } = {},
): Promise<RunningWorker> {
  const worker = await startWorker({
    runtime: llamaCppRuntime({ command: process.execPath, args: [] }),
    resolveModel: () => resolveModel(options.model ?? "synthetic:tiny", { cacheDir: TEST_CACHE_DIR }),
    engine: {
      parallel: options.parallel ?? 4,
      contextLength: options.contextLength,
      threads: 1,
      batchSize: undefined,
      gpu: false,
    },
    host: "127.0.0.1",
    port: 0,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  await worker.loaded;
  if (worker.holder.state.status !== "ready") {
    await worker.close();
    throw new Error(`worker failed to load: ${JSON.stringify(worker.holder.state)}`);
  }
  return worker;
}

/** Reads an SSE response into its parsed `data:` events (the final [DONE] as the string). */
export async function readSse(res: Response): Promise<{ events: unknown[]; done: boolean }> {
  const text = await res.text();
  const events: unknown[] = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    if (!block.startsWith("data: ")) continue;
    const data = block.slice(6);
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}

export async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
