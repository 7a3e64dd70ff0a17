/**
 * The `transformers` runtime: TokenForge's Python worker on PyTorch + Hugging Face Transformers
 * (workers/transformers/server.py), started as its own process. It serves a Hugging Face id, a
 * local model directory, or `synthetic:<preset>` (random weights of a preset's exact shape).
 */
import { fileURLToPath } from "node:url";
import type { RuntimeDefinition } from "../../spec/runtime.js";

/**
 * The worker script. This module is src/runtimes/transformers/index.ts or, built,
 * dist/runtimes/transformers/index.js: three levels up is the repository root in both layouts.
 */
export const TRANSFORMERS_WORKER_PATH = fileURLToPath(
  new URL("../../../workers/transformers/server.py", import.meta.url),
);

export interface TransformersRuntimeOptions {
  /** The Python interpreter (default: `$TOKENFORGE_PYTHON` or `python3`). */
  python?: string;
  /** The worker script (default: the repository's workers/transformers/server.py). */
  workerPath?: string;
}

export function transformersRuntime(opts: TransformersRuntimeOptions = {}): RuntimeDefinition {
  const python = opts.python ?? process.env.TOKENFORGE_PYTHON ?? "python3";
  const workerPath = opts.workerPath ?? TRANSFORMERS_WORKER_PATH;
  return {
    name: "transformers",
    description:
      "Hugging Face Transformers on PyTorch in a Python worker (GPU when present; requests queued FIFO)",
    localProcess: ({ model, port, host, extraArgs }) => ({
      command: python,
      args: [workerPath, "--model", model, "--host", host, "--port", String(port), ...extraArgs],
      // Output straight to the log, so a load failure shows when it happens.
      env: { PYTHONUNBUFFERED: "1" },
    }),
  };
}
