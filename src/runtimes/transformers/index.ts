/**
 * The `transformers` runtime: TokenForge's Python worker on PyTorch + Hugging Face Transformers
 * (workers/transformers/server.py), started as its own process. It serves a Hugging Face id, a
 * local model directory, or `synthetic:<preset>` (random weights of a preset's exact shape).
 */
import { fileURLToPath } from "node:url";
import type { RuntimeDefinition, SettingWarning } from "../../spec/runtime.js";
import { BACKEND_OWNED_FLAGS, hasFlag, refuseOwnedFlags } from "../flags.js";
import { quantNotApplied } from "../warnings.js";
import { WORKER_HEALTH, WORKER_METRICS } from "../worker-protocol.js";

/**
 * The worker script. This module is src/runtimes/transformers/index.ts or, built,
 * dist/runtimes/transformers/index.js: three levels up is the repository root in both layouts.
 */
export const TRANSFORMERS_WORKER_PATH = fileURLToPath(
  new URL("../../../workers/transformers/server.py", import.meta.url),
);

export interface TransformersRuntimeOptions {
  /** The Python interpreter (default `python3`; the CLI passes `$TOKENFORGE_PYTHON`). */
  python?: string;
  /** The worker script (default: the repository's workers/transformers/server.py). */
  workerPath?: string;
}

/**
 * Set from the launch: where the worker listens, what it loads and the name it serves it under
 * (server.py's `--served-model-name`, which clients and the gateway route by). The worker parses
 * with argparse, which also reads abbreviations (`--po`); flags.ts refuses those too.
 */
const OWNED = [...BACKEND_OWNED_FLAGS, "--served-model-name"] as const;

export function transformersRuntime(opts: TransformersRuntimeOptions = {}): RuntimeDefinition {
  const python = opts.python ?? "python3";
  const workerPath = opts.workerPath ?? TRANSFORMERS_WORKER_PATH;
  return {
    specificationVersion: "v1",
    name: "transformers",
    description:
      "Hugging Face Transformers on PyTorch in a Python worker (GPU when present; requests queued FIFO)",
    localProcess: ({ model, quant, port, host, extraArgs }) => {
      refuseOwnedFlags("transformers", extraArgs, OWNED);
      const warnings: SettingWarning[] = [];
      const dtype = quant === undefined ? [] : dtypeArgs(quant, extraArgs, warnings);
      return {
        command: python,
        args: [workerPath, "--model", model, "--host", host, "--port", String(port), ...dtype, ...extraArgs],
        // Output straight to the log, so a load failure shows when it happens.
        env: { PYTHONUNBUFFERED: "1" },
        warnings,
      };
    },
    ownedFlags: OWNED,
    health: WORKER_HEALTH,
    metrics: WORKER_METRICS,
  };
}

/** The worker's `--dtype` for a quant name; other quants (GGUF, AWQ, …) are a warning. */
const DTYPES: Readonly<Record<string, string>> = {
  auto: "auto",
  fp16: "float16",
  f16: "float16",
  float16: "float16",
  bf16: "bfloat16",
  bfloat16: "bfloat16",
  fp32: "float32",
  f32: "float32",
  float32: "float32",
};

function dtypeArgs(quant: string, extraArgs: readonly string[], warnings: SettingWarning[]): string[] {
  const q = quant.toLowerCase();
  const dtype = Object.hasOwn(DTYPES, q) ? DTYPES[q] : undefined;
  if (dtype === undefined || hasFlag(extraArgs, "--dtype")) {
    const why =
      dtype === undefined
        ? `the transformers worker takes a dtype (${Object.keys(DTYPES).join(", ")})`
        : "engine arguments set --dtype themselves";
    warnings.push(...quantNotApplied(quant, why));
    return [];
  }
  return ["--dtype", dtype];
}
