/**
 * How the llama.cpp runtime is launched: `tokenforge worker --runtime llamacpp` as a local process
 * or in TokenForge's worker image, with the deployment's quant folded into a synthetic model
 * reference (a GGUF file has its own quantization, so a quant for one is a warning).
 */
import { TokenForgeError } from "../../errors.js";
import { isQuant, QUANTS } from "../../models/quantize.js";
import { parseModelRef, SYNTHETIC_PREFIX } from "../../models/reference.js";
import type { ContainerContext, ContainerSpec, LaunchRequest, SettingWarning } from "../../spec/runtime.js";
import { BACKEND_OWNED_FLAGS, hasFlag, refuseOwnedFlags } from "../flags.js";

export const LLAMACPP = "llamacpp";
/** Set from the launch itself: the worker command's engine, where it listens and what it serves. */
export const LLAMACPP_OWNED_FLAGS = ["--runtime", ...BACKEND_OWNED_FLAGS] as const;
const WORKER_CACHE = "/var/cache/tokenforge";

/** The worker command's arguments after the CLI's own (`worker --runtime llamacpp --model …`). */
export function workerArgs(
  model: string,
  host: string,
  port: number,
  extraArgs: readonly string[],
): string[] {
  return [
    "worker",
    "--runtime",
    LLAMACPP,
    "--model",
    model,
    "--host",
    host,
    "--port",
    String(port),
    ...extraArgs,
  ];
}

/**
 * The model reference the worker loads: a synthetic one with `quant` added (or checked against
 * its own `quant=`), a file as it is with a warning when a quant was asked for.
 */
export function modelWithQuant(model: string, quant: string | undefined, warnings: SettingWarning[]): string {
  if (quant === undefined) return model;
  const ref = parseModelRef(model, "/");
  if (ref.kind === "file") {
    warnings.push({
      kind: "unsupported-setting",
      field: "quant",
      message: `quant "${quant}" ignored: the GGUF file ${model} has its own quantization`,
    });
    return model;
  }
  const q = quant.toLowerCase();
  if (!isQuant(q)) {
    throw new TokenForgeError(
      "invalid_request",
      `quant "${quant}" is not one llamacpp synthesizes; valid: ${QUANTS.join(", ")}`,
      { field: "quant" },
    );
  }
  const query = model.slice(SYNTHETIC_PREFIX.length).split("?")[1];
  if (query !== undefined && new URLSearchParams(query).has("quant")) {
    if (ref.quant !== q) {
      throw new TokenForgeError(
        "invalid_request",
        `quant "${quant}" contradicts quant=${ref.quant} in model "${model}"`,
        {
          field: "quant",
        },
      );
    }
    return model;
  }
  return `${model}${query === undefined ? "?" : "&"}quant=${q}`;
}

/** Whole CPUs in a quantity ("4" → 4, "2500m" → 2, "500m" → 1); undefined when not given. */
function wholeCpus(cpu: string | undefined): number | undefined {
  if (cpu === undefined) return undefined;
  const milli = cpu.endsWith("m") ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
  return Number.isFinite(milli) && milli > 0 ? Math.max(1, Math.floor(milli)) : undefined;
}

/** `tokenforge worker --runtime llamacpp` from TokenForge's own image. */
export function llamaCppContainer(request: LaunchRequest, context: ContainerContext): ContainerSpec {
  refuseOwnedFlags(LLAMACPP, request.extraArgs, LLAMACPP_OWNED_FLAGS);
  if (parseModelRef(request.model, "/").kind === "file" && !request.model.startsWith("/")) {
    throw new TokenForgeError(
      "invalid_request",
      `model "${request.model}": a GGUF path is read inside the container and must be absolute (the model cache is mounted at ${WORKER_CACHE})`,
      { field: "model" },
    );
  }
  const warnings: SettingWarning[] = [];
  const model = modelWithQuant(request.model, request.quant, warnings);
  const extra = [...request.extraArgs];
  // Inside a CPU-limited container the machine's core count overstates what the pod may use.
  const threads = wholeCpus(request.resources?.cpu);
  if (threads !== undefined && !hasFlag(extra, "--threads")) extra.unshift("--threads", String(threads));
  return {
    image: context.image ?? context.workerImage,
    command: ["tokenforge"],
    args: workerArgs(model, "0.0.0.0", context.port, extra),
    env: [
      { name: "TOKENFORGE_HOME", value: WORKER_CACHE },
      { name: "TOKENFORGE_MODEL_CACHE", value: `${WORKER_CACHE}/models` },
    ],
    cachePath: WORKER_CACHE,
    warnings,
  };
}
